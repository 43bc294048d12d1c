from servicekit.runner import run
from store_svc.app import build

run(build)
