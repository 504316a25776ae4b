"""The command-centre web console: its map configuration API and the built app's files."""
