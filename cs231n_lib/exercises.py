"""Which functions an exercise's answer may not call: the tripwire list, in one place.

Several exercises ask students to write something the library or PyTorch already does:
``conv_forward_naive`` (the library has ``layers.conv_forward_fast``, PyTorch has
``F.conv2d``), ``relu_backward`` (autograd does it), ``flip_batch`` (``augment.hflip``)...
A submission whose answer just calls the ready-made version would pass the check without
the student writing anything. While a graded test cell runs, the grader's guard
(``cs231n_lib.guard``) turns every function listed here for that test into a *tripwire*:
called from the student's code (an answer cell), it fails with a message such as

    this exercise asks you to write the loops yourself: do not call
    cs231n_lib.layers.conv_forward_fast

and the test scores 0. Called from the check itself (which uses ``F.conv2d`` as its
reference) or from a demo cell, it works as usual. Outside graded test cells nothing is
wrapped, so the notebook's demos of the fast layers keep working.

``FORBIDDEN = {assignment: {test_grade_id: [dotted names]}}``. A dotted name is a module
path followed by attributes: ``"cs231n_lib.layers.conv_forward_fast"``,
``"cs231n_lib.augment.RandomCrop.apply"`` (a method), ``"torch.nn.functional.conv2d"``,
``"torch.Tensor.backward"``. Names whose module is not installed are skipped.
``REASONS`` gives each test's "this exercise asks you to ..." phrase (default:
"write it yourself").

The library regions that a student bundle stubs (``### BEGIN SOLUTION NAME`` in
``cs231n_lib/*.py``, see ``cs231n_lib.grading``) are the library's own copies of the answers:
each of them is listed here too, and ``tests/test_guard.py`` checks that none is missing.

Quiz cells (``answer = 42``) compute their answer before any test runs, so a tripwire cannot
see them; their checks compare values (``checks.matches``) instead.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ASSUMPTIONS", "FORBIDDEN", "REASONS", "Assumption", "forbidden", "reason"]

# Shared lists -------------------------------------------------------------------------
_AUTOGRAD = ["torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
             "torch.func.grad", "torch.func.vjp"]
_CORRELATE = ["scipy.signal.correlate2d", "scipy.signal.convolve2d", "scipy.signal.correlate",
              "scipy.signal.convolve", "scipy.signal.fftconvolve", "scipy.signal.oaconvolve",
              "scipy.ndimage.correlate", "scipy.ndimage.convolve",
              "torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.functional.conv1d",
              "torch.nn.functional.conv3d", "torch.nn.functional.conv_transpose2d"]
_CONV_FORWARD = ["cs231n_lib.layers.conv_forward_naive", "cs231n_lib.layers.conv_forward_fast",
                 "cs231n_lib.layers.conv_relu_forward",
                 "cs231n_lib.layers.conv_relu_pool_forward", *_CORRELATE]
_CONV_BACKWARD = ["cs231n_lib.layers.conv_backward_naive", "cs231n_lib.layers.conv_backward_fast",
                  "cs231n_lib.layers.conv_relu_backward",
                  "cs231n_lib.layers.conv_relu_pool_backward", *_AUTOGRAD]
_OUTPUT_SIZE = ["cs231n_lib.arithmetic.conv_output_size", "cs231n_lib.layers.conv_output_size",
                "cs231n_lib.vis.conv_output_size", "cs231n_lib.arithmetic.Conv.output_shape",
                "cs231n_lib.arithmetic.Pool.output_shape"]
_COUNT_WEIGHTS = ["cs231n_lib.models.count_parameters", "cs231n_lib.arithmetic.Conv.weights",
                  "cs231n_lib.arithmetic.Conv.biases", "cs231n_lib.arithmetic.FC.weights",
                  "cs231n_lib.arithmetic.stack_vs_single_weights"]
_RECEPTIVE = ["cs231n_lib.arithmetic.receptive_field",
              "cs231n_lib.arithmetic.stacked_receptive_field",
              "cs231n_lib.vis.layer_receptive_field"]

FORBIDDEN: dict[str, dict[str, list[str]]] = {
    "00_why_convolution": {
        "test_correlate2d": [*_CONV_FORWARD],
    },
    "01_conv_layer": {
        "test_output_size": [*_OUTPUT_SIZE],
        "test_conv_forward": [*_CONV_FORWARD],
        "test_conv_params": [*_COUNT_WEIGHTS],
        "test_conv_backward": [*_CONV_BACKWARD],
    },
    "02_activations_pooling_fc": {
        "test_activation_backward": ["cs231n_lib.layers.relu_backward",
                                     "cs231n_lib.layers.sigmoid_backward",
                                     "cs231n_lib.layers.tanh_backward", *_AUTOGRAD],
        "test_max_pool_forward": ["cs231n_lib.layers.max_pool_forward_naive",
                                  "cs231n_lib.layers.max_pool_forward_fast",
                                  "cs231n_lib.layers.conv_relu_pool_forward",
                                  "torch.nn.functional.max_pool2d",
                                  "torch.nn.functional.max_pool2d_with_indices",
                                  "torch.nn.functional.adaptive_max_pool2d",
                                  "torch.max_pool2d", "skimage.measure.block_reduce"],
        "test_max_pool_backward": ["cs231n_lib.layers.max_pool_backward_naive",
                                   "cs231n_lib.layers.max_pool_backward_fast",
                                   "cs231n_lib.layers.conv_relu_pool_backward",
                                   "torch.nn.functional.max_unpool2d", *_AUTOGRAD],
    },
    "03_receptive_fields": {
        "test_rf_size": [*_RECEPTIVE],
        "test_stack_weights": [*_COUNT_WEIGHTS],
        "test_bottleneck": [*_COUNT_WEIGHTS, "cs231n_lib.arithmetic.Conv.macs",
                            "cs231n_lib.arithmetic.bottleneck_block"],
    },
    "04_data_augmentation": {
        "test_flip_batch": ["cs231n_lib.augment.hflip",
                            "cs231n_lib.augment.RandomHorizontalFlip.apply"],
        "test_random_crop": ["cs231n_lib.augment.RandomCrop.apply", "cs231n_lib.augment.crop"],
        "test_bilinear_at": ["cs231n_lib.augment.remap", "cs231n_lib.augment.warp",
                             "cs231n_lib.augment.warp_affine", "cs231n_lib.augment.resize",
                             "scipy.ndimage.map_coordinates", "scipy.interpolate.interpn",
                             "scipy.interpolate.RegularGridInterpolator.__call__",
                             "torch.nn.functional.grid_sample",
                             "torch.nn.functional.interpolate"],
        "test_pca_offset": ["cs231n_lib.augment.FancyPCA.offsets",
                            "cs231n_lib.augment.FancyPCA.apply"],
        "test_flip_tta": ["cs231n_lib.augment.tta_predict", "cs231n_lib.augment.tta_views"],
    },
    "05_pytorch_convnets": {
        "test_lenet_param_counts": ["cs231n_lib.models.count_parameters",
                                    "cs231n_lib.models.lenet5"],
        "test_train_step": ["cs231n_lib.train.fit"],
    },
    "06_case_studies_classic": {
        "test_conv_layer_numbers": [*_OUTPUT_SIZE, *_COUNT_WEIGHTS],
    },
    "07_case_studies_modern": {
        "test_residual_block": ["cs231n_lib.models.BasicBlock.forward",
                                "cs231n_lib.models.CifarBlock.forward",
                                "cs231n_lib.models.Bottleneck.forward"],
        "test_block_weights": [*_COUNT_WEIGHTS, "cs231n_lib.arithmetic.basic_block",
                               "cs231n_lib.arithmetic.bottleneck_block"],
    },
    "08_understanding_convnets": {
        "test_receptive_field": [*_RECEPTIVE],
        "test_occlusion": ["cs231n_lib.vis.occlusion_map"],
    },
    "09_transfer_learning": {},
}

REASONS: dict[str, dict[str, str]] = {
    "00_why_convolution": {"test_correlate2d": "write the sliding window yourself"},
    "01_conv_layer": {"test_conv_forward": "write the loops yourself",
                      "test_conv_backward": "write the loops yourself",
                      "test_output_size": "work the formula out yourself",
                      "test_conv_params": "work the formula out yourself"},
    "02_activations_pooling_fc": {"test_activation_backward": "write the gradient yourself",
                                  "test_max_pool_forward": "write the loops yourself",
                                  "test_max_pool_backward": "write the loops yourself"},
}


def forbidden(assignment: str, test_id: str) -> list[str]:
    """The dotted names the answer may not call during graded test ``test_id`` (maybe [])."""
    return list(FORBIDDEN.get(assignment, {}).get(test_id, ()))


def reason(assignment: str, test_id: str) -> str:
    """The phrase after "this exercise asks you to" for ``test_id``'s tripwire message."""
    return REASONS.get(assignment, {}).get(test_id, "write it yourself")


# What the text lets students assume -------------------------------------------------------

class Assumption(NamedTuple):
    """A promise the notebook's text makes to students about an exercise's inputs.

    ``phrase`` is the promise as the notebook states it; ``args`` names the parameters of the
    student's function ``function``; ``holds`` is a Python expression over them that is True
    exactly when the promise holds. The tests wrap ``function`` with this check and run every
    graded test cell against the solution: a hidden test that breaks the promise fails there.
    """

    function: str
    args: str
    holds: str
    phrase: str


#: ``{assignment: [Assumption, ...]}``: every "you may assume" in a notebook has an entry here
#: (``tests/test_solutions_static.py`` checks both directions).
ASSUMPTIONS: dict[str, list[Assumption]] = {
    "02_activations_pooling_fc": [
        Assumption("max_pool_forward_naive", "x, pool_param",
                   "(x.shape[2] - pool_param['pool_height']) % pool_param['stride'] == 0 "
                   "and (x.shape[3] - pool_param['pool_width']) % pool_param['stride'] == 0",
                   "You may assume the windows fit"),
    ],
}
