"""Local Kubernetes test cluster for kubectl-eidf."""
