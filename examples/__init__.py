"""Three classic IAM races, each with the naive code that loses them and the retry that wins.

Every program talks to AWS through boto3's defaults (environment credentials and endpoints),
so the same code runs against real AWS or, under ``iam-planes run`` or the pytest plugin's
``aws_env``, against the emulator with the propagation delays of your choice.
"""
