"""Runs a recipe on one device and under `MirroredStrategy` over two logical
CPUs (fresh process: the CPU must be split before TensorFlow starts) and
prints the largest weight difference as JSON.

    python tests/recipes/mirrored.py TASK WORKDIR 'JSON_CONFIG_VALUES'
"""

import importlib
import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

import lstm_zoo  # noqa: E402, F401
from lstm_zoo_cli import TRAIN  # noqa: E402

task, workdir, values = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
config_module, config_class, recipe_module = TRAIN[task]
Config = getattr(importlib.import_module(config_module), config_class)
recipe = importlib.import_module(recipe_module)
weights, replicas = {}, {}
for distribution in ("default", "mirrored"):
    config = Config.from_dict({**values, "distribution": distribution, "export": False,
                               "backup": False, "tensorboard": False})  # fmt: skip
    model, _ = recipe.train(config, f"{workdir}/{distribution}")
    weights[distribution] = [np.array(w) for w in model.get_weights()]
    replicas[distribution] = model.distribute_strategy.num_replicas_in_sync
first = recipe.train(Config.from_dict({**values, "epochs": 1, "max_minutes": 0.0,
                                       "export": False, "backup": False}),
                     f"{workdir}/untrained")[0].get_weights()  # fmt: skip
print(json.dumps({
    "replicas": replicas,
    "moved": max(float(np.abs(a - b).max())
                 for a, b in zip(first, weights["default"], strict=True)),
    "diff": max(float(np.abs(a - b).max())
                for a, b in zip(weights["default"], weights["mirrored"], strict=True)),
}))  # fmt: skip
