#!/usr/bin/env bash
# The malformed-model corpus test (DESIGN.md principle 8): every bad model must be refused
# with exit code 2 and exactly one clear line on stderr, never a crash, a sanitizer report
# or a huge allocation.
#
#   NNC=/path/nnc MAKE_MODELS=/path/make_malformed_models bash tests/malformed_models.sh OUTDIR
#
# OUTDIR receives the corpus (tests/make_malformed_models.cpp writes it). Each case below
# names its file, the nnc subcommand to run it with (`check` unless the problem only shows
# when the model runs; `run:3` expects exit code 3, a failure while running) and an extended regex (case-insensitive) that the error line must
# match, so that the message names the problem.
set -u

if [[ $# -ne 1 || -z "${NNC:-}" || -z "${MAKE_MODELS:-}" ]]; then
  echo "usage: NNC=/path/nnc MAKE_MODELS=/path/make_malformed_models bash $0 OUTDIR" >&2
  exit 1
fi
out=$1

if ! "$MAKE_MODELS" "$out"; then
  echo "FAIL make_malformed_models could not write the corpus into $out"
  echo "0 passed, 1 failed"
  exit 1
fi

# file | subcommand | what the error line must say
cases=(
  # files that are not a model at all
  "truncated.onnx|check|not a valid onnx model|truncated"
  "not_protobuf.onnx|check|not a valid onnx model|not a protobuf"
  "empty.onnx|check|empty|not a valid onnx model"
  "deep_nesting.onnx|check|not a valid onnx model|nest|recursion|too deep"
  "missing_graph.onnx|check|no graph"
  "missing_ir_version.onnx|check|ir_version"
  "future_opset.onnx|check|opset.*9999|9999.*opset"
  # graph structure
  "cycle.onnx|check|cycle"
  "dangling_input.onnx|check|ghost.*(not produced|never produced|no producer)"
  "output_not_produced.onnx|check|nowhere.*(not produced|never produced)"
  "duplicate_output.onnx|check|'y'.*(twice|more than once|multiple times)"
  "duplicate_initializer.onnx|check|'?w'?.*(twice|more than once|not unique|duplicate)"
  "wrong_input_count.onnx|check|input"
  "subgraph_dangling_input.onnx|check|phantom"
  "nesting_over_limit.onnx|check|nested more than 16"
  "subgraph_bad_node.onnx|check|If 'if_0' then_branch: If 'if_1' then_branch: Add 'innermost'.*input"
  # ops, attributes and types
  "unknown_op.onnx|check|FooBarOp"
  "custom_domain_op.onnx|run|FooBarOp.*not supported"
  "bad_elem_type.onnx|check|(unsupported|invalid|unknown).*type.*99"
  "bad_initializer_type.onnx|check|(unsupported|invalid|unknown).*type.*99"
  "missing_input_type.onnx|check|type.*missing|no type|missing.*type"
  "wrong_attribute_type.onnx|check|axis"
  "string_raw_data.onnx|check|string.*raw.?data"
  # found only when the node runs: a failure while running (exit 3), still one clear line
  "conv_2d_weight.onnx|run:3|rank|weight"
  "reshape_bad_shape.onnx|run:3|reshape"
  "gather_index_out_of_range.onnx|run:3|out of range"
  # sizes and shapes
  "negative_dim.onnx|check|negative"
  "negative_input_dim.onnx|check|negative"
  "overflow_dims.onnx|check|overflow"
  "raw_data_size_mismatch.onnx|check|raw data|raw_data"
  "float_data_count_mismatch.onnx|check|5 values"
  "huge_constant_of_shape.onnx|run|exceeds|limit|too large"
  "huge_expand.onnx|run|exceeds|limit|too large"
  "huge_range.onnx|run|exceeds|limit|too large"
  "huge_input_dim.onnx|run|exceeds|limit|too large"
  # external data
  "external_data_escape/model.onnx|check|escapes|outside|\.\."
  "external_data_absolute/model.onnx|check|relative path|absolute|outside"
  "external_data_symlink/model.onnx|check|outside|symlink"
  "external_data_missing_file/model.onnx|check|does not exist|no such file|missing"
  "external_data_past_end/model.onnx|check|past the end|out of range"
  "external_data_bad_offset/model.onnx|check|offset"
)

timeout_cmd=()
command -v timeout > /dev/null && timeout_cmd=(timeout 120)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
for entry in "${cases[@]}"; do
  file=${entry%%|*}
  rest=${entry#*|}
  cmd=${rest%%|*}
  pattern=${rest#*|}
  want_rc=2
  if [[ $cmd == *:* ]]; then want_rc=${cmd#*:}; cmd=${cmd%%:*}; fi
  model="$out/$file"

  "${timeout_cmd[@]}" "$NNC" "$cmd" "$model" > "$tmp/stdout" 2> "$tmp/stderr" < /dev/null
  rc=$?
  # ASan's notice that it cannot follow makecontext/swapcontext (called inside the Halide/
  # LLVM compiler when a kernel is built) is not nnc's output; real reports still fail below.
  sed -i '/WARNING: ASan doesn.t fully support makecontext\/swapcontext/d' "$tmp/stderr"
  nlines=$(awk 'END { print NR }' "$tmp/stderr")
  first=$(head -n 1 "$tmp/stderr")
  all_err=$(awk '{ printf "%s%s", (NR > 1 ? " \\n " : ""), $0 }' "$tmp/stderr")

  problems=()
  [[ $rc -eq $want_rc ]] || problems+=("exit code $rc, expected $want_rc")
  if [[ $nlines -ne 1 ]]; then
    problems+=("stderr has $nlines lines, expected exactly 1")
  fi
  [[ $first == "nnc $cmd: error: "* ]] || problems+=("stderr does not start with 'nnc $cmd: error:'")
  if ! grep -Eiq -- "$pattern" <<< "$first"; then
    problems+=("error line does not match /$pattern/")
  fi
  if grep -Eq 'Sanitizer|runtime error:' "$tmp/stdout" "$tmp/stderr"; then
    problems+=("sanitizer report in the output")
  fi

  if [[ ${#problems[@]} -eq 0 ]]; then
    echo "ok   $file: ${first#"nnc $cmd: error: "}"
    passed=$((passed + 1))
  else
    msg=$(IFS=';'; echo "${problems[*]}")
    echo "FAIL $file (nnc $cmd): ${msg//;/; }; stderr: ${all_err:-<empty>}"
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
