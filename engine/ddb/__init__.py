"""ddb(4) mimic: one interpreter of ddb command lines over the model."""
