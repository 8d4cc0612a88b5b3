"""Drawing: one colour per person, nothing for keypoints the model is unsure of."""

from __future__ import annotations

import numpy as np

from posenet.keypoints import NUM_KEYPOINTS, PART_IDS
from posenet.poses import Pose
from posenet.render import PALETTE, draw_poses


def _pose(x0: float, scores: np.ndarray) -> Pose:
    xy = np.stack([np.full(NUM_KEYPOINTS, x0), np.linspace(20, 180, NUM_KEYPOINTS)], axis=1)
    return Pose(xy.astype(np.float32), scores.astype(np.float32), float(scores.mean()))


def test_each_pose_has_its_own_colour_and_unsure_keypoints_are_not_drawn():
    canvas = np.zeros((200, 300, 3), np.uint8)
    sure = np.ones(NUM_KEYPOINTS)
    unsure_nose = sure.copy()
    unsure_nose[PART_IDS["nose"]] = 0.05
    drawn = np.asarray(draw_poses(canvas, [_pose(60, sure), _pose(220, unsure_nose)]))
    first, second = drawn[:, 50:70].reshape(-1, 3), drawn[:, 210:230].reshape(-1, 3)
    # the surest pixels of each person carry that person's palette colour
    assert (np.abs(first.astype(int) - PALETTE[0]).sum(axis=1) < 30).any()
    assert (np.abs(second.astype(int) - PALETTE[1]).sum(axis=1) < 30).any()
    assert not (np.abs(first.astype(int) - PALETTE[1]).sum(axis=1) < 30).any()
    # the first person's nose (y = 20) is drawn, the second's is not
    assert drawn[17:24, 57:64].any()
    assert not drawn[14:26, 214:226].any()


def test_opacity_follows_confidence():
    canvas = np.zeros((200, 300, 3), np.uint8)
    bright = np.asarray(draw_poses(canvas, [_pose(150, np.full(NUM_KEYPOINTS, 1.0))]))
    faint = np.asarray(draw_poses(canvas, [_pose(150, np.full(NUM_KEYPOINTS, 0.3))]))
    assert bright[:, 140:160].max() > faint[:, 140:160].max()
    assert faint[:, 140:160].max() > 0
