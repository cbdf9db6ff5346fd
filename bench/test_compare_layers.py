"""Unit tests of bench/compare_layers.py's report parsing and layer naming, on lines copied
from real NNC_PROFILE reports and ONNX Runtime profiles (mobilenet_v2, resnet50, the SwiGLU
block)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_layers import nnc_layers, ort_layers, ort_scope, scope, table  # noqa: E402


def event(name, ts, dur):
    return {"cat": "Node", "name": name + "_kernel_time", "ts": ts, "dur": dur}


def run(ts):
    return {"cat": "Session", "name": "model_run", "ts": ts, "dur": 1}


class Scope(unittest.TestCase):
    def test_fused_clip_and_its_convolution_share_a_layer(self):
        ort = scope("/features/features.17/conv/conv.0/conv.0.2/Clip_output_0_nchwc")
        self.assertEqual(ort, "/features/features.17/conv/conv.0/conv.0")
        self.assertEqual(scope("/features/features.17/conv/conv.0/conv.0.0/Conv"), ort)

    def test_plain_node_names(self):
        self.assertEqual(scope("/layer1/layer1.0/conv1/Conv"), "/layer1/layer1.0/conv1")
        self.assertEqual(scope("/w1/MatMul"), "/w1")
        self.assertEqual(scope("Gate_2"), "Gate_2")


class OrtScope(unittest.TestCase):
    # resnet50's block: conv1 -> relu; mobilenet_v2's: conv.0.0 (Conv) -> conv.0.2 (Clip);
    # efficientnet's SiLU: Conv -> Sigmoid -> Mul(conv output, sigmoid output).
    PRODUCERS = {
        "/layer1/layer1.0/conv1/Conv_output_0": ("Conv", "/layer1/layer1.0/conv1/Conv", ["x", "w"]),
        "/layer1/layer1.0/relu/Relu_output_0": ("Relu", "/layer1/layer1.0/relu/Relu", ["/layer1/layer1.0/conv1/Conv_output_0"]),
        "/f.3/conv.0/conv.0.0/Conv_output_0": ("Conv", "/f.3/conv.0/conv.0.0/Conv", ["x", "w"]),
        "/f.3/conv.0/conv.0.2/Clip_output_0": ("Clip", "/f.3/conv.0/conv.0.2/Clip", ["/f.3/conv.0/conv.0.0/Conv_output_0", "lo", "hi"]),
        "/b/conv/Conv_output_0": ("Conv", "/b/conv/Conv", ["x", "w"]),
        "/b/act/Sigmoid_output_0": ("Sigmoid", "/b/act/Sigmoid", ["/b/conv/Conv_output_0"]),
        "/b/act/Mul_output_0": ("Mul", "/b/act/Mul", ["/b/conv/Conv_output_0", "/b/act/Sigmoid_output_0"]),
        "/maxpool/MaxPool_output_0": ("MaxPool", "/maxpool/MaxPool", ["/layer1/layer1.0/relu/Relu_output_0"]),
    }

    def test_fused_activation_goes_to_its_convolution(self):
        self.assertEqual(ort_scope("/layer1/layer1.0/relu/Relu_output_0_nchwc", self.PRODUCERS), "/layer1/layer1.0/conv1")
        self.assertEqual(ort_scope("/f.3/conv.0/conv.0.2/Clip_output_0_nchwc", self.PRODUCERS), "/f.3/conv.0/conv.0")
        self.assertEqual(ort_scope("/b/act/Mul_output_0_nchwc", self.PRODUCERS), "/b/conv")

    def test_names_outside_the_graph_fall_back_to_their_scope(self):
        self.assertEqual(ort_scope("/layer1/layer1.0/conv2/Conv", self.PRODUCERS), "/layer1/layer1.0/conv2")
        self.assertEqual(ort_scope("/x/Relu_output_0_nchwc", {}), "/x")
        self.assertEqual(ort_scope("/maxpool/MaxPool_output_0_nchwc", self.PRODUCERS), "/maxpool")
        self.assertEqual(ort_scope("ReorderOutput", self.PRODUCERS), "ReorderOutput")


class Reports(unittest.TestCase):
    def test_nnc_profile_lines(self):
        text = "\n".join([
            "NNC_PROFILE: 27.3 ms in all steps over 13 runs",
            "      9.43 ms  34.5%    0.7256 ms/run  MatMul '/w1/MatMul' + Gate 'Gate_2'",
            "      1.30 ms   4.8%    0.1000 ms/run  [reference] Loop '/loop/Loop'",
            "      0.13 ms   0.5%    0.0100 ms/run  FusedConv '/layer1/layer1.0/conv2/Conv'",
            "      0.26 ms   1.0%    0.0200 ms/run  FusedConv '/layer1/layer1.0/conv2/Conv2'",
        ])
        layers = nnc_layers(text)
        self.assertEqual(set(layers), {"/w1", "/loop", "/layer1/layer1.0/conv2"})
        self.assertAlmostEqual(layers["/w1"], 0.7256)
        self.assertAlmostEqual(layers["/loop"], 0.1)
        self.assertAlmostEqual(layers["/layer1/layer1.0/conv2"], 0.03)

    def test_ort_profile_leaves_out_warm_up_runs(self):
        events = [run(0), event("/w1/MatMul", 5, 9000), run(100), event("/w1/MatMul", 105, 800),
                  event("/w1/Mul", 110, 100), run(200), event("/w1/MatMul", 205, 600)]
        layers = ort_layers(events, warmup=1)
        self.assertEqual(set(layers), {"/w1"})
        self.assertAlmostEqual(layers["/w1"], (0.8 + 0.1 + 0.6) / 2)
        with self.assertRaises(ValueError):
            ort_layers(events, warmup=3)

    def test_table_orders_by_gap_and_marks_missing_sides(self):
        lines = table({"/a": 1.0, "/b": 3.0}, {"/b": 1.0, "/c": 0.5}, top=10).splitlines()
        self.assertEqual(lines[2], "| **all kernels** | 4.000 | 1.500 | +2.500 | 2.67 |")
        self.assertEqual(lines[3], "| /b | 3.000 | 1.000 | +2.000 | 3.00 |")
        self.assertEqual(lines[4], "| /a | 1.000 | - | +1.000 | - |")
        self.assertEqual(lines[5], "| /c | - | 0.500 | -0.500 | - |")


if __name__ == "__main__":
    unittest.main()
