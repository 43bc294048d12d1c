"""`sagashop chaos`: the system under load while its processes are killed."""
