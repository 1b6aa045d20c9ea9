"""Media: storage, probing, transcoding, processing jobs and authorised streaming of takes."""
