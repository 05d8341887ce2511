"""From a predicted salt mask to an interpretation: 3D salt bodies with their statistics (bodies), top- and
base-of-salt surfaces written for interpretation software (surfaces), the survey's map geometry (geometry)."""
