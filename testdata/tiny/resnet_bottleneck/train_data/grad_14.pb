B1.downsample.1.biasJ@ræ¤=œq\:u=:^·=Þ‰j;$Ý;¼cCÊ<¬¯M=’n›<T¶w<SNl<2Ü=t9	<Z<„=é
>ÛÌ‘=