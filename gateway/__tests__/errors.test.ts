import { formatError } from '../errors';

/** An internal error reaches the client as a reference to the log, never in the database's words. */
describe('formatError', () => {
  it('replaces an internal message with a reference that the log records with the original', () => {
    const logged: [string, unknown][] = [];
    const raw = { message: 'value "9999999999" is out of range for type integer', path: ['loan'], extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: 'loans' } };
    const shown = formatError(raw, (ref, original) => logged.push([ref, original]));
    expect(shown.message).not.toMatch(/out of range/);
    expect(shown.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', ref: logged[0][0] });
    expect(shown.path).toEqual(['loan']);
    expect(logged).toEqual([[expect.stringMatching(/^[0-9a-f]{12}$/), raw]]);
  });

  it('says nothing changed when the gateway knows it, and leaves documented codes alone', () => {
    expect(formatError({ message: 'x', extensions: { code: 'INTERNAL_SERVER_ERROR', nothingChanged: true } }).message).toMatch(/Nothing was changed/);
    const refused = { message: 'copy Q1-QS00001 is on loan', extensions: { code: 'COPY_NOT_AVAILABLE' } };
    expect(formatError(refused)).toEqual(refused);
    expect(formatError({ message: 'boom' }).extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  });
});
