"""Every public layer of sdn_tf, checked alike (Sonnet's conformance idea).

LAYERS holds each public layer with a small example; a test fails when a
public layer is missing from it.
"""

import doctest
import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import sdn_test_case
import sdn_tf.layers
from sdn_tf.layers import (
    ResSpatialDependency,
    SpatialBroadcast,
    SpatialDependency,
    WeightNormConv2D,
    WeightNormConv2DTranspose,
)

# class -> (constructor arguments, example input shape)
LAYERS = {
    SpatialDependency: (
        dict(filters=3, num_features=4, directions=("down", "left"), kernel_size=3),
        (2, 5, 6, 3),
    ),
    ResSpatialDependency: (
        dict(filters=3, num_features=4, kernel_size=4, strides=2, transpose=True),
        (2, 3, 4, 2),
    ),
    SpatialBroadcast: (dict(height=3, width=5), (2, 4)),
    WeightNormConv2D: (dict(filters=3, kernel_size=3, padding="same"), (2, 5, 6, 2)),
    WeightNormConv2DTranspose: (
        dict(filters=3, kernel_size=4, strides=2, padding="same"),
        (2, 3, 4, 2),
    ),
}


def _public_layer_classes():
    return [
        obj
        for name in sdn_tf.layers.__all__
        if inspect.isclass(obj := getattr(sdn_tf.layers, name))
        and issubclass(obj, keras.layers.Layer)
    ]


def test_every_public_layer_is_in_the_registry():
    missing = [cls.__name__ for cls in _public_layer_classes() if cls not in LAYERS]
    assert not missing, f"add {missing} to LAYERS"


@pytest.mark.parametrize("cls", list(LAYERS), ids=lambda c: c.__name__)
def test_xla_matches_eager(cls):
    kwargs, shape = LAYERS[cls]
    layer = cls(**kwargs)
    x = sdn_test_case.random_inputs(shape)
    eager = np.asarray(layer(x))
    compiled = tf.function(layer, jit_compile=True)
    np.testing.assert_allclose(np.asarray(compiled(x)), eager, atol=1e-5)


@pytest.mark.parametrize("cls", list(LAYERS), ids=lambda c: c.__name__)
def test_docstring_has_the_sections_and_its_example_runs(cls):
    doc = inspect.getdoc(cls)
    for section in ("Args:", "Input shape:", "Output shape:", "Example:"):
        assert section in doc, f"{cls.__name__} docstring lacks {section!r}"
    parser = doctest.DocTestParser()
    test = parser.get_doctest(doc, {"np": np, cls.__name__: cls}, cls.__name__, None, 0)
    assert test.examples, f"{cls.__name__} docstring has no runnable example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0, f"{cls.__name__} docstring example failed"


@pytest.mark.parametrize("cls", list(LAYERS), ids=lambda c: c.__name__)
def test_registered_for_saving_under_sdn_tf(cls):
    assert keras.saving.get_registered_name(cls) == f"sdn_tf>{cls.__name__}"
    assert keras.saving.get_registered_object(f"sdn_tf>{cls.__name__}") is cls
