"""The topwords command line (thin: it parses, calls core, prints)."""
