"""The SageMaker job's own CloudWatch logs in the step's output, while the step waits for it.

The runner's whole interface: `start(...)` once the job exists (None when the step does not
stream), then `finish(drain=...)` when the wait is over. The follower runs in a daemon thread
beside the watch, which stays the one source of truth for completion; whatever happens to the
logs (no permission, throttling, a bug here) costs the step at most one line of output, never
its result.

`stream_logs`: `off` never streams; `auto` (the default) streams when the environment shows
AWS credentials the standard chain would use (keys, IRSA web identity, EKS Pod Identity or
container credentials, a profile or shared config files), checked without importing botocore,
so a step without credentials pays nothing; `on` always asks the full chain (instance metadata
included) and says so in one line when it finds nothing.

What is followed: a training, processing or transform job's streams `<job>/...` in its log
group; for a tuning job, the streams of every training job it launches (`<tuning job>-NNN-<8
hex>/...` in /aws/sagemaker/TrainingJobs), labelled with the training job's name, picked up as
they start.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from sagemaker_ack_kfp.completion import KindRules
from sagemaker_ack_kfp.errors import InputError
from sagemaker_ack_kfp.logfollower import Follower, LogsApi, Target
from sagemaker_ack_kfp.progress import Progress
from sagemaker_ack_kfp.redacting import Redactor

MODES = ("auto", "on", "off")
# How long the end of a step may wait for the last lines after the job ended.
DRAIN_SECONDS = 30.0
# A cancelled step only gives the follower a moment to notice.
STOP_SECONDS = 1.0
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")

Connect = Callable[[str], "LogsApi | None"]


def parse_mode(raw: str | None) -> str:
    value = (raw or "auto").strip().lower()
    if value not in MODES:
        raise InputError(f"input 'stream_logs': expected one of {', '.join(MODES)}, got {raw!r}")
    return value


def credential_source(environ: Mapping[str, str], home: Path | None = None) -> str:
    """Where the standard credential chain would find credentials, as far as the environment
    shows without asking it (no import, no network); '' when nothing points to any."""
    if environ.get("AWS_ACCESS_KEY_ID"):
        return "environment variables"
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return "web identity token (IRSA)"
    if environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        return "container credentials (EKS Pod Identity)"
    if environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE"):
        return "profile"
    home = home or Path(environ.get("HOME") or "~").expanduser()
    files = (environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials",
             environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    if any(Path(path).is_file() for path in files):
        return "shared config files"
    return ""


def target_for(rules: KindRules, name: str) -> Target | None:
    if not rules.log_group or rules.log_streams is None:
        return None
    if rules.log_streams == "tuning":
        # SageMaker names a tuning job's training jobs <tuning job>-<3 digits>-<8 hex>.
        keep = re.compile(re.escape(name) + r"-\d{3}-[0-9a-f]{8}/.+")
        return Target(rules.log_group, prefix=f"{name}-", keep=keep, strip="")
    return Target(rules.log_group, prefix=f"{name}/", keep=re.compile(re.escape(name) + "/.+"), strip=f"{name}/")


def start(
    mode: str,
    rules: KindRules,
    *,
    name: str,
    region: str,
    progress: Progress,
    redactor: Redactor,
    environ: Mapping[str, str] | None = None,
    connect: Connect | None = None,
) -> "LogStreaming | None":
    """Start following the job's logs, or None when this step does not stream them."""
    environ = os.environ if environ is None else environ
    target = target_for(rules, name)
    if mode == "off" or target is None or not region:
        return None
    if mode == "auto" and not credential_source(environ):
        return None
    # A training script may print its environment: keep the step's own secrets out of it.
    redactor.learn({key: environ.get(key) for key in _SECRET_VARIABLES if environ.get(key)})
    streaming = LogStreaming(target, region=region, mode=mode, progress=progress, connect=connect or _connect)
    streaming.start()
    return streaming


def _connect(region: str) -> LogsApi | None:
    from sagemaker_ack_kfp import cloudwatch_logs  # botocore: only when logs are streamed

    return cloudwatch_logs.connect(region)


class LogStreaming:
    def __init__(self, target: Target, *, region: str, mode: str, progress: Progress, connect: Connect) -> None:
        self.target, self.region, self.mode = target, region, mode
        self._progress = progress
        self._connect = connect
        self._ending = threading.Event()  # the job ended: drain, then stop
        self._stopping = threading.Event()  # the step is cancelled: stop now
        self._drain_deadline = float("inf")
        # Once finish() has returned, the thread prints nothing more: a daemon thread writing to
        # stdout while the interpreter shuts down can abort the process.
        self._guard = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="job-logs", daemon=True)
        self.follower: Follower | None = None

    def start(self) -> None:
        self._thread.start()

    def finish(self, *, drain: bool, timeout: float = DRAIN_SECONDS) -> None:
        """The wait is over. `drain`: the job ended, print its remaining lines (at most
        `timeout` seconds); otherwise stop following at once."""
        if drain:
            self._drain_deadline = time.monotonic() + timeout
            self._ending.set()
            self._thread.join(timeout + 1.0)
        else:
            self._stopping.set()
            self._ending.set()
            self._thread.join(STOP_SECONDS)
        with self._guard:
            self._closed = True

    def _say(self, message: str) -> None:
        with self._guard:
            if not self._closed:
                self._progress.say(message)

    def _emit(self, label: str, line: str) -> None:
        with self._guard:
            if not self._closed:
                self._progress.log_line(label, line)

    def _run(self) -> None:
        try:
            api = self._connect(self.region)
            if api is None:
                if self.mode == "on":
                    self._say(
                        "logs not streamed: stream_logs=on, but the AWS credential chain found no credentials "
                        "(environment, web identity, container or instance metadata, shared config); "
                        "showing console links only"
                    )
                return
            self._say(f"following the job's CloudWatch logs: {self.target.group}, streams {self.target.prefix}*")
            self.follower = Follower(api, self.target, emit=self._emit, say=self._say)
            self.follower.run(self._ending, self._stopping, lambda: self._drain_deadline)
        except Exception as exc:  # noqa: BLE001 - the logs never fail the step
            self._say(f"logs unavailable: {type(exc).__name__}: {exc}; showing console links only")
