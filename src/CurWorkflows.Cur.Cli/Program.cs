using CurWorkflows.Cur.Cli;

return CurCommand.Run(args, Console.Out, Console.Error);
