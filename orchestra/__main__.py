from orchestra.app import build
from servicekit.runner import run

run(build)
