"""Neural-network experiments' toolkit: data, label noise, tiny models, training
(docs/theory.md §7)::

    data = load_dataset("digits", seed=0)
    data = with_label_noise(jax.random.key(1), data, "symmetric", 0.4, NUM_CLASSES)
    model = flat_model(mlp(data.train.x.shape[1:], NUM_CLASSES))
    method = with_weight_decay(optim.fsgld(0.3, beta=1e6), 5e-4)
    params, losses = jax.jit(lambda k: fit(k, method, model, data.train, epochs=30,
                                           batch_size=64))(jax.random.key(0))
    accuracy(model, params, data.test), curvature(jax.random.key(2), model, params, data.train)

Many runs at once (a tuning grid x seeds, one compiled program per method family):
:func:`train_classifier_runs`, :func:`curvature_runs`.
"""

from .data import DATASETS, NUM_CLASSES, Dataset, Split, load_arrays, load_dataset, split_dataset
from .domains import (
    DOMAIN_DATASETS,
    MNIST1D_DOMAINS,
    ROTATED_DIGITS_ANGLES,
    DomainSplits,
    domain_accuracy,
    fit_domains,
    leave_one_domain_out,
    load_domains,
    split_domains,
)
from .models import (
    MODELS,
    Model,
    classification_loss,
    cnn,
    cross_entropy,
    flat_model,
    mlp,
    model_from_name,
    residual_mlp,
    strided_cnn,
)
from .noise import NOISE_KINDS, noisy_labels, with_label_noise
from .sweep import (
    METHOD_FAMILY,
    Hyperparameters,
    RunMetrics,
    build_method,
    curvature_runs,
    hyperparameters,
    step_schedule,
    train_classifier_runs,
)
from .train import Curvature, accuracy, curvature, fit, fit_with_history, with_weight_decay

__all__ = [
    "DATASETS", "METHOD_FAMILY", "MODELS", "NOISE_KINDS", "NUM_CLASSES", "Curvature", "Dataset",
    "Hyperparameters", "Model", "RunMetrics", "Split", "accuracy", "build_method",
    "classification_loss", "cnn", "cross_entropy", "curvature", "curvature_runs", "fit",
    "fit_with_history", "residual_mlp", "strided_cnn",
    "flat_model", "hyperparameters", "load_arrays", "load_dataset", "mlp", "model_from_name",
    "noisy_labels", "split_dataset", "step_schedule", "train_classifier_runs", "with_label_noise",
    "with_weight_decay",
    # domain generalisation (per-domain batches)
    "DOMAIN_DATASETS", "MNIST1D_DOMAINS", "ROTATED_DIGITS_ANGLES",
    "DomainSplits", "domain_accuracy", "fit_domains", "leave_one_domain_out",
    "load_domains", "split_domains",
]
