const OK = Buffer.from('+OK\r\n');
/** The user an AUTH names (two arguments: the default user). */
function userOf(args) {
    return args.length === 3 ? args[1].toString('latin1') : 'default';
}
export class AuthCheck {
    s;
    constructor(s) {
        this.s = s;
    }
    /** Is this AUTH checked off the connection: per-user sharing is on and has room for its user. */
    static applies(ups, args) {
        if (ups.verify === undefined || ups.canPool === undefined || (args.length !== 2 && args.length !== 3))
            return false;
        return ups.canPool(userOf(args));
    }
    start(h) {
        h.checking = true;
        const ups = this.s.ctx.upstreams;
        ups.verify.call(ups, h.args, (reply) => this.checked(h, reply));
    }
    checked(h, reply) {
        const s = this.s;
        if (!s.holds(h))
            return;
        if (reply === null)
            return s.authLost('the AUTH check got no answer from Redis');
        // refused: the client stays as it was, as on Redis
        if (!reply.equals(OK))
            return s.authAnswered(reply, null, null);
        const user = userOf(h.args);
        const ups = s.ctx.upstreams;
        ups.joinPool.call(ups, user, h.args[h.args.length - 1], s, (seat) => {
            if (!s.holds(h)) {
                seat?.close();
                return;
            }
            if (seat === null)
                s.authOnOwnConnection(h);
            else
                s.authAnswered(reply, seat, user);
        });
    }
}
//# sourceMappingURL=auth-check.js.map