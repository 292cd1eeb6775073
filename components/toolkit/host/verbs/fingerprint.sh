# Prints this node's fingerprint: the sha256 of the installed k3s version and config.yaml, or "none" before the
# first install. The upgrade step compares it with the fingerprint the program rendered and drains and reinstalls
# only when they differ.
#
# Flags: --node-name.

require_root
current_fingerprint
