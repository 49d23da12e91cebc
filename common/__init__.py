"""The component runtime: one flow every SageMaker component shares."""
