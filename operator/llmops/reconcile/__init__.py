"""The operator: kopf handlers that apply the rendered objects, observe the children and write status."""
