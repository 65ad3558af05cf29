/* console behaviours: filled in below */
