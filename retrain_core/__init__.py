"""retrain: policy-as-code automated retraining for ML models, on Prefect and MLflow."""

__version__ = "0.1.0"
