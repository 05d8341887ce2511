"""Your own survey, measured on synthetic ones (src/survey/synthetic.py): one module per study (accuracy, active,
memory, bodies_memory), their shared steps in common.py, the command line in __main__.py.

python -m bench.survey --minutes M [--labelled 2 5 10 20] [--shape 120 200 160] [--setting easy|hard]
                        [--arms scratch,finetuned] [--clean-min-voxels N [--smooth-lines 2]]
                        [--tgs RUN | --tgs-minutes 10] [--figures DIR]
    IoU (threshold 0.5) on the inlines nobody labelled, against the number n of labelled inlines (the centres of
    n equal blocks of inlines, written as per-line label files), for a network fine-tuned from a TGS-trained one
    and one trained from scratch, M minutes of `experiment=cpu_fast` each, then predict.py on the whole volume.
    --figures DIR: README's pictures of the last arm's last run (calibration, a predicted inline with its
    uncertainty, the suggested lines, the salt bodies) as DIR/survey_<what>.png.
python -m bench.survey --active --minutes M [--start 2] [--rounds 3] [--seeds 0 1 2] [--setting hard] [--oracle]
                        [--round-members K --round-minutes R]
    Active labelling: from `start` evenly spaced inlines, `rounds` times train -> predict.py (uncertainty) ->
    suggest.py -> label the suggested inline; against `start + rounds` evenly spaced inlines, each arm's last
    network trained alike. --oracle: suggest.py's rule given each inline's true error rate (the current network's
    mask against the labels) in place of its mean uncertainty: what a perfect uncertainty could add to the rule.
    --round-members K: each round's uncertainty comes from K independently trained networks (training seeds
    seed + 1000 j, R minutes each, a Hydra sweep predicted as one ensemble) instead of one network, whose snapshots
    are averaged into one (ensemble.mode=weights) so that only its TTA views disagree.
    IoU on the inlines neither arm labelled, per training seed and their mean; and for each last network: ECE of
    its probabilities there as trained and after tune.py's temperature, and the AUROC of its uncertainty for the
    wrong pixels.
python -m bench.survey --bodies-gb G
    Peak resident and private memory, and time, of bodies.py on a G-GB mask cube (the hard survey's labels
    repeated).
python -m bench.survey --memory-gb G [--every 40]
    Peak resident and private memory, against the SEG-Y's size, of sampling training windows from a G-GB SEG-Y
    (every n-th inline labelled) and of predict.py on the whole volume (one tiny network, inline sections, no TTA).
"""
