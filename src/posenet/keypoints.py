"""The 17 PoseNet keypoints, the pose chain the decoders walk, and the drawing skeleton.

Everything else in the package takes keypoint counts, channel layouts and edge
indices from here, so the order of POSENET.md §1 is written down exactly once.
"""

from __future__ import annotations

import numpy as np

#: TF.js part names, in model channel order.
PART_NAMES: tuple[str, ...] = (
    "nose",
    "leftEye",
    "rightEye",
    "leftEar",
    "rightEar",
    "leftShoulder",
    "rightShoulder",
    "leftElbow",
    "rightElbow",
    "leftWrist",
    "rightWrist",
    "leftHip",
    "rightHip",
    "leftKnee",
    "rightKnee",
    "leftAnkle",
    "rightAnkle",
)

#: COCO keypoint names, same order.
COCO_NAMES: tuple[str, ...] = tuple(
    "".join("_" + c.lower() if c.isupper() else c for c in name) for name in PART_NAMES
)

NUM_KEYPOINTS: int = len(PART_NAMES)
PART_IDS: dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}

#: The pose chain as (parent, child) name pairs; edge e selects displacement channel e.
POSE_CHAIN_NAMES: tuple[tuple[str, str], ...] = (
    ("nose", "leftEye"),
    ("leftEye", "leftEar"),
    ("nose", "rightEye"),
    ("rightEye", "rightEar"),
    ("nose", "leftShoulder"),
    ("leftShoulder", "leftElbow"),
    ("leftElbow", "leftWrist"),
    ("leftShoulder", "leftHip"),
    ("leftHip", "leftKnee"),
    ("leftKnee", "leftAnkle"),
    ("nose", "rightShoulder"),
    ("rightShoulder", "rightElbow"),
    ("rightElbow", "rightWrist"),
    ("rightShoulder", "rightHip"),
    ("rightHip", "rightKnee"),
    ("rightKnee", "rightAnkle"),
)
POSE_CHAIN: tuple[tuple[int, int], ...] = tuple(
    (PART_IDS[a], PART_IDS[b]) for a, b in POSE_CHAIN_NAMES
)
NUM_EDGES: int = len(POSE_CHAIN)

#: Parent and child ids of each edge, as arrays for vectorised code.
EDGE_PARENTS: np.ndarray = np.array([a for a, _ in POSE_CHAIN], dtype=np.int64)
EDGE_CHILDREN: np.ndarray = np.array([b for _, b in POSE_CHAIN], dtype=np.int64)

#: TF.js "adjacent keypoints": the lines drawn for a skeleton.
SKELETON_NAMES: tuple[tuple[str, str], ...] = (
    ("leftHip", "leftShoulder"),
    ("leftElbow", "leftShoulder"),
    ("leftElbow", "leftWrist"),
    ("leftHip", "leftKnee"),
    ("leftKnee", "leftAnkle"),
    ("rightHip", "rightShoulder"),
    ("rightElbow", "rightShoulder"),
    ("rightElbow", "rightWrist"),
    ("rightHip", "rightKnee"),
    ("rightKnee", "rightAnkle"),
    ("leftShoulder", "rightShoulder"),
    ("leftHip", "rightHip"),
)
SKELETON: tuple[tuple[int, int], ...] = tuple((PART_IDS[a], PART_IDS[b]) for a, b in SKELETON_NAMES)

#: (left, right) id pairs: the keypoints a left/right mix-up exchanges.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (i, PART_IDS["right" + name[len("left") :]])
    for i, name in enumerate(PART_NAMES)
    if name.startswith("left")
)

#: COCO's per-keypoint OKS sigmas (same order), the spread of human annotators' clicks
#: relative to the person's size: wide for hips, narrow for eyes. TF.js pose-detection's
#: keypoint tracker uses them as its default `keypointFalloff`.
COCO_SIGMAS: np.ndarray = np.array(
    [
        *(0.026, 0.025, 0.025, 0.035, 0.035),  # nose, eyes, ears
        *(0.079, 0.079, 0.072, 0.072, 0.062, 0.062),  # shoulders, elbows, wrists
        *(0.107, 0.107, 0.087, 0.087, 0.089, 0.089),  # hips, knees, ankles
    ],
    dtype=np.float32,
)
COCO_SIGMAS.flags.writeable = False

#: Mirror image of each keypoint (left <-> right), for horizontal flips.
FLIP_PERMUTATION: tuple[int, ...] = tuple(
    PART_IDS[name.replace("left", "@").replace("right", "left").replace("@", "right")]
    for name in PART_NAMES
)

#: Mirror image of each pose-chain edge: edge e joins the mirrors of its parent and
#: child, in the same direction (the chain is left/right symmetric), so a flip
#: permutes displacement channels without exchanging fwd and bwd.
EDGE_FLIP_PERMUTATION: tuple[int, ...] = tuple(
    POSE_CHAIN.index((FLIP_PERMUTATION[a], FLIP_PERMUTATION[b])) for a, b in POSE_CHAIN
)
