from payment_svc.app import build
from servicekit.runner import run

run(build)
