"""The AWS services gateway of a replica: any AWS service call (S3, SQS, DynamoDB, KMS, ...)
is authorized on this replica's state and, when allowed, served by the services backend."""
