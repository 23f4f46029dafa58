"""Model tooling for HallWatch: manifests, export, training recipes, evaluation and the accuracy table.

Weights are never shipped in this repository: manifests point at folders under
``${HALLWATCH_MODELS_DIR}`` (default ``../shared/models``).
"""
