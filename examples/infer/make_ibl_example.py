"""Writes ibl_example.csv: a small table in the IBL trials format (as exported to CSV),
made here rather than downloaded. Three mice, two sessions each, 120 trials a session:
contrasts on one side from the IBL set (0 on either side counts as no stimulus), a few
no-go trials (choice 0) and a missing contrast (empty). Choices follow a GLM whose
stimulus weight grows across sessions. IBL's coding: choice -1 = rightward (CCW turn),
+1 = leftward, 0 = no-go; feedbackType +1 rewarded, -1 not.

    python3 examples/infer/make_ibl_example.py
"""
import csv
import math
import random

random.seed(7)
contrasts = [0.0, 0.0625, 0.125, 0.25, 1.0]
rows = []
for m, mouse in enumerate(["CSHL_001", "KS_014", "NYU_030"]):
    w_stim, bias = 1.0 + m, (m - 1) * 0.5
    for session in range(2):
        eid = f"{mouse.lower()}-2026-0{session + 1}-01"
        for _ in range(120):
            c = random.choice(contrasts)
            right = random.random() < 0.5
            cl, cr = (0.0, c) if right else (c, 0.0)
            s = math.tanh(5 * cr) / math.tanh(5) - math.tanh(5 * cl) / math.tanh(5)
            p_right = 1 / (1 + math.exp(-(w_stim * s + bias)))
            if random.random() < 0.03:
                choice = 0  # no-go
            else:
                choice = -1 if random.random() < p_right else 1
            correct_right = right if c > 0 else random.random() < 0.5
            chose_right = choice == -1
            feedback = 1 if choice != 0 and chose_right == correct_right else -1
            left_text = "" if (c == 0 and random.random() < 0.02) else cl
            rows.append([mouse, eid, left_text, cr, choice, feedback])
        w_stim += 1.5
with open("examples/infer/ibl_example.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["subject", "session", "contrastLeft", "contrastRight", "choice", "feedbackType"])
    w.writerows(rows)
