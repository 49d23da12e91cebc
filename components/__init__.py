"""Generated KFP components, one folder per ACK kind (see codegen/)."""
