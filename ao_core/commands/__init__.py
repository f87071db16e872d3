"""One module per ao-* command: ``parser()`` builds its argparse parser, ``main()`` runs it."""
