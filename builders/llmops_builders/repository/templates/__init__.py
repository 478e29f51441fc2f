"""jinja2 templates of the Triton config.pbtxt files (a package so the wheel ships them)."""
