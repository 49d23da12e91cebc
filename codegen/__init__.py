"""Generates components/<Kind>/ from the ACK SageMaker CRDs."""
