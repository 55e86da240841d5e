"""Face modality: MediaPipe Face Landmarker → FACS AU map, named expressions, still-frame V/A/D, head pose,
gaze; several faces per frame with stable ids. See docs/face-video.md."""

from .analyse import MAX_IMAGES, FaceFrame, analyse_image, analyse_images, describe_face
from .aus import AU_KEYS, load_table
from .landmarker import FaceObservation, Landmarker

__all__ = [
    "MAX_IMAGES",
    "AU_KEYS",
    "FaceFrame",
    "FaceObservation",
    "Landmarker",
    "analyse_image",
    "analyse_images",
    "describe_face",
    "load_table",
]
