B
2.bn1.biasJlÏy¼ê»ÍºŠ'ÿ<¿—a¼