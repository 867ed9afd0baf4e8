
BoutputJ(™Β =dK>΄–Y½μό<~R>b»P=›y|>έ‹½HEp»,.Ύ