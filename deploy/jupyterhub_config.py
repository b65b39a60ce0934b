"""JupyterHub configuration of the one-machine lossbook classroom (started by deploy/classroom.py).

Reads the classroom's settings from ``$LOSSBOOK_CLASSROOM/classroom.json``. Each person logs in
with their Linux password (PAM) and gets a Jupyter server running as their own Linux user
(``LocalProcessSpawner``: no systemd or Docker needed); only the class's users may log in.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classroom import Classroom, role_of, user_environment  # noqa: E402

c = get_config()  # noqa: F821  (JupyterHub injects get_config)
classroom = Classroom.load(Path(os.environ["LOSSBOOK_CLASSROOM"]))

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = classroom.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{classroom.hub_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(classroom.hub_dir / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(classroom.hub_dir / "jupyterhub-process.pid")
c.ConfigurableHTTPProxy.pid_file = str(classroom.hub_dir / "proxy.pid")
# Servers die with the hub: `classroom.py down` leaves no process behind.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(classroom.users)
c.Authenticator.admin_users = set()

# The admin service: scripts and tests start servers and issue tokens with it.
c.JupyterHub.services = [{"name": "classroom-admin", "api_token": classroom.admin_token()}]
c.JupyterHub.load_roles = [
    {
        "name": "classroom-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
        "services": ["classroom-admin"],
    },
]

c.Spawner.cmd = [str(classroom.env / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# Ten servers starting at once on two cores take ~17 s each (bench/bench_classroom.py).
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def per_user(spawner):
    """The user's role: their environment, and the instructor's server opens in the course."""
    user = spawner.user.name
    spawner.environment.update(user_environment(classroom, user))
    if role_of(classroom, user) == "instructor":
        spawner.notebook_dir = str(classroom.course_dir())


c.Spawner.pre_spawn_hook = per_user
