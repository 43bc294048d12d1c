from delivery_svc.app import build
from servicekit.runner import run

run(build)
