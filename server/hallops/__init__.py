"""Hall operations pages of the console: live camera pictures, the hall map (电子地图), statistics and the
督查通报, the duty roster (值班表) with who sits at each window, and user administration."""
