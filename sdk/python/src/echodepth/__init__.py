"""EchoDepth: the Python SDK of the EchoDepth emotion-analysis API.

    import echodepth
    client = echodepth.Client(api_key="YOUR_KEY")
    result = client.analyse.video(url="https://...")
    print(result.trust_score)  # 0–100

The Trust Score is not a lie detector: it is a documented composite of signal congruence, stress markers and
signal quality, returned with its components and evidence.
"""

from echodepth import webhooks
from echodepth._async.client import AsyncClient
from echodepth._sync.client import Client
from echodepth._version import __version__
from echodepth.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    EchoDepthError,
    InvalidInputError,
    JobFailedError,
    NotFoundError,
    RateLimitError,
    StreamError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from echodepth.resources import AsyncJob, Job
from echodepth.stream import AsyncVideoStream, VideoStream
from echodepth.types import (
    VAD,
    JobSummary,
    ReplayAccepted,
    Result,
    SecretRotated,
    Trust,
    TrustComponent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreated,
)

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "Job",
    "AsyncJob",
    "VideoStream",
    "AsyncVideoStream",
    "Result",
    "VAD",
    "Trust",
    "TrustComponent",
    "JobSummary",
    "WebhookEndpoint",
    "WebhookEndpointCreated",
    "WebhookDelivery",
    "SecretRotated",
    "ReplayAccepted",
    "webhooks",
    "EchoDepthError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "NotFoundError",
    "InvalidInputError",
    "RateLimitError",
    "JobFailedError",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "StreamError",
]
