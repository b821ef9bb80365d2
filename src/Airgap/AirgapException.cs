namespace Airgap;

/// <summary>
/// A failure an operator can act on. The message is one line that names the thing and what to do;
/// the CLI prints it as-is and exits non-zero, so no stack trace reaches the operator.
/// </summary>
public class AirgapException : Exception
{
    public AirgapException(string message) : base(message) { }
    public AirgapException(string message, Exception inner) : base(message, inner) { }
}
