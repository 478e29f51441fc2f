"""One module per serving runtime: image, command, args, env, ports, probes and metrics endpoint."""
