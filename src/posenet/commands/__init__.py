"""One module per `posenet` sub-command; each has register(subparsers)."""
