"""nbgrader in the lossbook single-user image: the course id and ngshare as the exchange.

ngshare authenticates every request with the user's JupyterHub token, so a submission always
carries its real author's name: the forged-submission attack of the shared-folder exchange
(see lossbook/grader/exchange.py) does not exist here.
"""

from ngshare_exchange import configureExchange

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "lossbook"
configureExchange(c, "http://proxy-public/services/ngshare")  # the hub proxies the service
