"""Labeled data we write, the loaders that join it with O*NET reference text, and schema checks."""
from datasets.schema import CATEGORIES, LABELS, SchemaError

__all__ = ["CATEGORIES", "LABELS", "SchemaError"]
