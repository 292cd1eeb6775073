# Prints `# ca-hash <hash>`: the cluster CA's hash as k3s itself wrote it in its secure token (lib.sh, k3s_ca_hash).
# The program builds the agents' join token from it (K10<hash>::node:<agent token>). Its step is re-created when the
# cluster's caGeneration changes, so a CA rotated by hand ('k3s certificate rotate-ca') reaches the agents' tokens.
#
# Flags: --node-name.

require_root
print_ca_hash
