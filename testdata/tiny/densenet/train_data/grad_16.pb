B1.2.body.3.weightJ จ
h:YTใน๋ฒ;ü!Fป/K“;ฬฤษ;ฒÿaบBศป