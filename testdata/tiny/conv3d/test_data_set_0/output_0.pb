
BoutputJ(HQ)½,3›<ŒSø=²r½“³j=qIÙ½ğH>õt`=¹Zú½Öóª=