# -*- coding: utf-8 -*-
"""Holds the hand-written q3 conversations and writes conversations.jsonl.

Each conversation is written by hand below. The script only:
  * turns per-turn delays (seconds after the previous turn) into +08:00 timestamps,
  * turns per-turn label markers into {"code", "turn"} entries,
  * puts conversation-level codes on the last agent turn,
  * computes the timing labels from the timestamps (BRIEF rules) and asserts that
    they equal the timing codes the conversation was designed to have,
  * writes the wrong_info justification side file.
"""
import datetime as dt
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TZ = dt.timezone(dt.timedelta(hours=8))
MISSING = object()

CONV_LEVEL = ("unresolved", "no_empathy", "no_closing")
TIMING = ("slow_first_response", "slow_reply", "long_handling")

RET = "退换货政策.txt"
DLV = "配送说明.txt"
MEM = "会员积分规则.txt"
WAR = "保修条款.txt"
D11 = "双11促销活动规则.txt"
INTL = "international_shipping.txt"
FAQ = "faq_answers.jsonl"


def W(source, sentence):
    """wrong_info marker: the material file and the sentence the turn contradicts."""
    return ("wrong_info", source, sentence)


CONVS = []


def conv(cid, agent, channel, start, turns, resolved=MISSING, sat=MISSING,
         conv_labels=(), timing=()):
    CONVS.append(dict(cid=cid, agent=agent, channel=channel, start=start,
                      turns=turns, resolved=resolved, sat=sat,
                      conv_labels=list(conv_labels), timing=sorted(timing)))


# ---------------------------------------------------------------------------
# q3-001 .. q3-090 (hand-written)
# ---------------------------------------------------------------------------

conv("q3-001", "a-21", "app", "2026-10-12 10:05:11", [
    ("customer", 0, "你好，我上周买的入耳式蓝牙耳机拆开试了一下，音质不太喜欢，能七天无理由退吗？"),
    ("agent", 18, "您好，我是客服小周，很高兴为您服务。请问耳机是哪天签收的呢？方便提供一下订单号吗？"),
    ("customer", 40, "10月8号签收的，订单号SP20261006113。"),
    ("agent", 25, "感谢您提供的信息。很抱歉，已拆封的入耳式耳机出于卫生原因不支持七天无理由退货，这一条在退换货政策里是单独列出的。如果耳机出现非人为的性能故障，签收次日起十五天内经检测确认可以换同型号新品，整机保修1年。"),
    ("customer", 35, "啊？就因为拆了就不能退？有点坑啊。"),
    ("agent", 20, "理解您的心情，拆开试听是很自然的想法，给您添麻烦了。这条规定是出于卫生考虑的，我这边无法为您办理无理由退货。不过如果后续使用中出现质量问题，您在“我的订单-申请售后”里提交就可以。"),
    ("customer", 30, "行吧，那我先留着用吧。"),
    ("agent", 12, "好的，感谢您的理解。还有其他可以帮您的吗？祝您生活愉快！"),
], resolved=True, sat=3)

conv("q3-002", "a-22", "chat", "2026-10-13 14:20:03", [
    ("customer", 0, "下单四天了，物流一直是“已出库”，一条轨迹都没有，怎么回事"),
    ("agent", 12, "你好。订单号。"),
    ("customer", 22, "SP20261009877"),
    ("agent", 27, "查了。9号出库，之后无任何轨迹，已超72小时。核实是丢件。给您免费补发，还是全额退款？"),
    ("customer", 20, "补发吧，我还要用的。"),
    ("agent", 19, "已提交补发，新的物流在“我的订单”里能看到。"),
    ("customer", 15, "行，这次别再丢了啊"),
    ("agent", 14, "抱歉给您添麻烦。还有别的问题吗？"),
    ("customer", 10, "没了"),
], resolved=True, sat=4)

conv("q3-003", "a-24", "wechat", "2026-10-14 20:11:40", [
    ("customer", 0, "你好，我买的手机盒子里怎么没充电头？是不是漏发了"),
    ("agent", 14, "您好，我是客服小吴，麻烦发下订单号。"),
    ("customer", 30, "SP20261012045"),
    ("agent", 22, "查到了，这款手机官方配置只带数据线，不含充电头，详情页“包装清单”里有写。这个不算漏发哈。"),
    ("customer", 25, "我哪知道还要看什么包装清单，手机不都带充电器的吗"),
    ("agent", 16, "现在不带充电头的新机多了去了，也不是这一两年的事了。下单前花一分钟翻翻包装清单，也就用不着专门跑来问这一趟了不是？", "impolite"),
    ("customer", 22, "……行吧，那我自己另外买个。"),
    ("agent", 10, "好的，还有其他问题吗？"),
], resolved=True, sat=2)

conv("q3-004", "a-26", "app", "2026-10-16 11:32:08", [
    ("customer", 0, "您好，订单已经发货了，我想把地址改成公司地址，都在杭州。"),
    ("agent", 15, "您好，我是客服小郑～请提供一下订单号哈。"),
    ("customer", 20, "SP20261014332，新地址是杭州市西湖区文三路188号华星大厦12楼。"),
    ("agent", 28, "收到～这个订单是闪电速运配送的，同城改派免费，已经帮您改成新地址了，配送员会按新地址派送。"),
    ("customer", 18, "好的谢谢。那万一到时候我又不在公司，还能再改吗？"),
    ("agent", 20, "可以的亲，已出库的订单能免费同城改派两次，刚才用掉一次，还剩一次机会～",
     W(DLV, "已出库的闪电速运订单可联系客服免费同城改派1次；暂不支持跨城市改址，您可以拒收后重新下单。")),
    ("customer", 15, "那就好，到时候再找你们。"),
    ("agent", 10, "嗯嗯，到时候直接找客服说改回家里地址就行，也是免费的哈。还有其他问题吗？",
     W(DLV, "已出库的闪电速运订单可联系客服免费同城改派1次；暂不支持跨城市改址，您可以拒收后重新下单。")),
], resolved=True, sat=5)

conv("q3-005", "a-27", "phone", "2026-11-04 19:05:30", [
    ("system", 0, "来电已接入会话"),
    ("customer", 3, "喂，你好，我前天开了闪电PLUS年卡，现在不想要了，能退吗？"),
    ("agent", 38, "您好，这里是闪电优选客服，我是小何。请问您开通以后有没有用过会员权益，比如包邮、领券包这些？"),
    ("customer", 8, "没有，开了就没管它。"),
    ("agent", 72, "好的……稍等我查一下……查到了，您是11月2日开通的年卡，198元，到现在没有使用过任何权益，符合开通后7天内未使用权益全额退款的条件。"),
    ("customer", 6, "那帮我退了吧。"),
    ("agent", 40, "好的，已经为您提交退订申请，198元全额退款。"),
    ("customer", 5, "好的，谢谢。"),
    ("agent", 20, "不客气，让您久等了，祝您生活愉快，再见。"),
    ("system", 5, "通话结束"),
], resolved=True, sat=3, timing=["slow_first_response", "slow_reply"])

conv("q3-006", "a-25", "chat", "2026-10-20 21:18:45", [
    ("customer", 0, "你好，我在杭州，刚付款买了副耳机，明天是我男朋友生日，明天能到吗？"),
    ("agent", 10, "您好～我是客服小孙，很高兴为您服务！杭州是当日达城市，23:00前支付的订单次日送达，您这单是21点多付的，明天就能送到哦。"),
    ("customer", 25, "那能不能上午到？下午我们要出门。"),
    ("agent", 15, "您放心，我保证明天中午之前就给您送到，绝对不耽误您送礼物！", "banned_phrase"),
    ("customer", 20, "真的吗？万一没到呢"),
    ("agent", 12, "次日达订单如果没在承诺时间内送达，系统会在签收后自动给您发一张10元无门槛优惠券作为补偿。另外配送员派送前会先给您打电话的。"),
    ("customer", 18, "好吧，那我等着。"),
    ("agent", 10, "好嘞～还有其他问题随时找我，祝你们生日快乐！"),
], resolved=True, sat=5)

conv("q3-007", "a-28", "chat", "2026-10-21 09:42:10", [
    ("customer", 0, "Hi, do you ship to Singapore? And how much is shipping?"),
    ("agent", 15, "Hello, this is Grace from SparkMall. Yes, we ship to Singapore. Shipping is RMB 80 per order, and it's free for orders of RMB 1,500 or more."),
    ("customer", 30, "I'm a PLUS member, doesn't that give me free shipping?"),
    ("agent", 20, "I'm afraid SparkMall PLUS free shipping does not apply to international orders, so the standard fee applies."),
    ("customer", 25, "OK. How long does it take?"),
    ("agent", 18, 'Orders are dispatched within 48 hours of payment, and parcels to Singapore usually arrive 3-6 business days after dispatch. Customs clearance may add extra days, and you can track the parcel under "My Orders".'),
    ("customer", 20, "Great, thanks."),
    ("agent", 10, "You're welcome! Is there anything else I can help with? Have a nice day."),
], resolved=True, sat=5)

conv("q3-008", "a-24", "app", "2026-10-22 18:40:02", [
    ("customer", 0, "我的快递显示昨天下午已签收，我根本没收到！"),
    ("agent", 20, "你好，订单号给一下。"),
    ("customer", 15, "SP20261018220，你们配送员是不是随手点的签收？"),
    ("agent", 25, "系统显示放小区驿站代收了。这种情况十有八九是家里人或者物业帮您拿了，您自己都没问清楚就说没收到，让我们怎么查？", "impolite"),
    ("customer", 30, "我一个人住！哪来的家里人？气死我了，东西丢了你们就这个态度？"),
    ("agent", 22, "那您就先自己去驿站翻翻呗，在这儿跟我嚷也嚷不出包裹来。", "impolite"),
    ("customer", 18, "你们就是推卸责任，我要投诉你。"),
    ("agent", 15, "投诉可以在“我的-客服中心-投诉与建议”里提交。"),
    ("customer", 12, "呵呵，行，你等着。"),
], resolved=False, sat=1, conv_labels=["no_empathy", "unresolved"])

conv("q3-009", "a-23", "wechat", "2026-10-23 15:02:33", [
    ("customer", 0, "积分怎么用？我有1500分"),
    ("agent", 20, "尊敬的客户，您好！非常荣幸为您服务，我是闪电优选客服专员小郭。关于积分使用，现向您作如下说明：下单结算时可使用积分抵扣现金，每100积分抵扣1元，账户积分满1000分方可使用，并以100积分为单位进行抵扣。"),
    ("customer", 30, "那我1500分能抵15块？"),
    ("agent", 22, "感谢您的耐心询问。1500积分最多可抵扣15元，但敬请留意：单笔订单积分抵扣金额不超过订单实付金额的20%。例如，若订单实付金额为50元，则该笔订单最多可抵扣10元，即1000积分。"),
    ("customer", 25, "好的明白了，那积分会过期吗"),
    ("agent", 24, "承蒙垂询。每个自然年获得的积分，有效期至次年12月31日24:00，到期未使用将自动清零。例如，2025年获得的积分将于2026年12月31日24:00清零。每年12月1日起，我们亦会通过App消息提醒您即将过期的积分数量。"),
    ("customer", 15, "行，知道了"),
    ("agent", 12, "不胜感激您的垂询。请问还有其他可以为您效劳之处吗？敬祝您生活愉快，万事顺遂！"),
], resolved=True, sat=4)

conv("q3-010", "a-26", "app", "2026-10-24 13:15:20", [
    ("customer", 0, "你好，我买的电动牙刷用了三天就充不进电了，想退货"),
    ("agent", 15, "您好～我是客服小郑。签收7天内出现性能故障的，退货、换货、维修都可以选，您要退货对吧？麻烦发下订单号～"),
    ("customer", 25, "对，退货。SP20261020518"),
    ("agent", 20, "好的，已经帮您提交了质量问题退货申请，往返运费由我们承担，会优先安排闪电速运免费上门取件～"),
    ("customer", 30, "那钱多久能退回来？我是用银行卡付的"),
    ("agent", 18, "仓库收到货后48小时内质检，质检通过当天就发起退款，退到银行卡一般1-3个工作日就到账啦～",
     W(RET, "退款按原支付方式退回：闪电余额即时到账；微信支付、支付宝1-3个工作日；银行卡3-7个工作日；花呗或信用卡分期一般7-15个工作日，以分期机构处理时间为准。")),
    ("customer", 20, "好的，那我等取件。"),
    ("agent", 10, "嗯嗯，还有其他问题随时找我哦～"),
], resolved=True, sat=4)

conv("q3-011", "a-27", "app", "2026-10-27 10:22:00", [
    ("bot", 0, "您好，我是闪电小助手，请问有什么可以帮您？"),
    ("customer", 6, "人工"),
    ("bot", 2, "正在为您转接人工客服，请稍候"),
    ("system", 25, "客服小何已接入会话"),
    ("agent", 9, "您好，我是小何，请问有什么可以帮您？"),
    ("customer", 20, "我上周买的电饭煲降价了，能退差价吗？我是金卡"),
    ("agent", 45, "金卡会员的价保期是15天，从下单那天算。我查了一下您的订单，您是10月20日下单的，还在价保期内。在“我的订单-价格保护”里可以一键申请退还差价。"),
    ("customer", 30, "你帮我申请一下吧，我找不到在哪"),
    ("agent", 28, "好的，已经帮您提交了价保申请，降价的差价会退给您。"),
    ("customer", 15, "好，谢谢"),
    ("agent", 10, "不客气，感谢您的耐心等待，祝您生活愉快！"),
], resolved=True, sat=4, timing=["slow_first_response"])

conv("q3-012", "a-22", "app", "2026-10-28 16:40:12", [
    ("customer", 0, "请问电子发票在哪下载？"),
    ("agent", 11, "订单发货后，在“我的订单-查看发票”里下载PDF版。", "no_greeting"),
    ("customer", 20, "这个发票能拿来保修用吗？"),
    ("agent", 14, "能。电子发票可作为保修凭证。"),
    ("customer", 18, "好的"),
], resolved=True, conv_labels=["no_closing"])

conv("q3-013", "a-25", "app", "2026-10-29 12:05:44", [
    ("customer", 0, "你好，我手机屏幕摔裂了，买了碎屏保的，怎么弄？"),
    ("agent", 12, "您好呀～我是客服小孙！碎屏保生效后1年内可以免费换1次屏幕，外屏和内屏都包括。您在“我的订单-增值服务-碎屏保”里上传屏幕照片提交申请，审核通过后闪电速运会上门取机。"),
    ("customer", 35, "我是上个月买的，审核能过吗？照片要怎么拍"),
    ("agent", 15, "拍清楚屏幕碎的地方就行～您放心，审核百分百能过，我保证修好了跟新的一样！", "banned_phrase"),
    ("customer", 25, "那就好，我现在去提交。"),
    ("customer", 20, "提交好了"),
    ("agent", 10, "收到～审核通过后闪电速运上门取机，修好免费寄回。还有什么需要随时找我哦～"),
], resolved=True, sat=5)

conv("q3-014", "a-21", "phone", "2026-10-30 08:35:20", [
    ("system", 0, "来电已接入会话"),
    ("customer", 4, "喂，你好，我刚收到短信说我账号在别的手机上登录了，还下了一单，不是我下的！"),
    ("agent", 12, "您好，我是闪电优选客服小周，您先别着急，我们马上处理。请您先修改登录密码，然后在“账号与安全-登录设备管理”里把陌生设备移除。"),
    ("customer", 30, "密码改好了，设备也删了。那个订单怎么办？好几千块呢"),
    ("agent", 20, "好的。我这边查了，这个订单还没有发货，已经帮您拦截并取消了。同时也为您申请了账号临时冻结。"),
    ("customer", 25, "吓死我了，那钱会退回来吧？"),
    ("agent", 18, "理解您的担心。退款只会原路退回，请不要相信任何让您转账或提供验证码的电话。"),
    ("customer", 10, "好的，谢谢你啊。"),
    ("agent", 8, "不客气，还有其他问题随时联系我们，祝您生活愉快，再见。"),
    ("system", 3, "通话结束"),
], resolved=True, sat=5)

conv("q3-015", "a-24", "chat", "2026-10-31 10:01:30", [
    ("customer", 0, "秒杀买的东西能用优惠券吗？"),
    ("agent", 9, "你好，秒杀的不行。"),
    ("customer", 15, "那价保呢"),
    ("agent", 10, "也不行，秒杀商品不支持用券和价保。"),
    ("customer", 12, "好吧，那秒杀一个账号能买几件"),
    ("agent", 8, "限购1件。"),
    ("customer", 14, "ok"),
    ("agent", 6, "还有其他问题吗？"),
])

conv("q3-016", "a-27", "app", "2026-11-02 14:10:05", [
    ("customer", 0, "你好，我想退一个手表，没激活过，盒子拆了"),
    ("agent", 20, "您好，我是小何。拆封但没开机激活、配件齐全的智能手表，签收7天内可以无理由退货。请问是哪天签收的？"),
    ("customer", 40, "10月30号"),
    ("agent", 75, "好的，查到订单了，还在7天内。您可以在“我的订单”里选这个商品，点“申请售后”，选退货退款，填写原因提交。"),
    ("customer", 70, "提交了，然后呢？"),
    ("agent", 50, "我们会在1个工作日内审核，结果会通过App消息和短信通知您。审核通过后可以预约闪电速运上门取件，也可以在7天内自行寄回。"),
    ("customer", 45, "上门取件要钱吗？"),
    ("agent", 68, "无理由退货的寄回运费由您承担。预约闪电速运上门取件的话，首重10元，续重每公斤2元，从退款里扣除。"),
    ("customer", 35, "行吧，那手表很轻的，就10块对吧"),
    ("agent", 25, "首重是10元，续重部分才另按每公斤2元计。"),
    ("customer", 30, "好的，那我预约个明天的"),
    ("agent", 25, "好的，让您久等了，祝您生活愉快！"),
], resolved=True, sat=3, timing=["slow_reply", "slow_reply", "long_handling"])

conv("q3-017", "a-26", "app", "2026-11-06 10:15:00", [
    ("customer", 0, "Hi, my earphones arrived in Tokyo yesterday but the case is cracked and the left earbud won't charge."),
    ("agent", 15, "Hello, this is Leo from SparkMall. I'm sorry to hear that! Since the item arrived damaged, you can report it within 7 days of delivery with photos. Could you send me your order number and a few photos?"),
    ("customer", 40, "Order SP20261025771. Photos attached."),
    ("agent", 25, "Thanks. I've arranged a return for you, and we'll cover the return shipping cost. Would you like a replacement or a full refund?"),
    ("customer", 20, "Refund please. How long will it take?"),
    ("agent", 18, "No problem. Once the item is back with us, the refund goes to your original payment method within 3 business days.",
     W(INTL, "Refunds are made to the original payment method within 7-15 business days after the returned item passes inspection.")),
    ("customer", 15, "OK, thanks."),
    ("agent", 10, "You're welcome. Anything else I can help with? Have a nice day!"),
], resolved=True, sat=4)

conv("q3-018", "a-23", "phone", "2026-11-07 11:20:10", [
    ("system", 0, "来电已接入会话"),
    ("customer", 5, "你好，我家冰箱是今年1月在你们这买的，这两天突然不制冷了，能保修吗？"),
    ("agent", 15, "尊敬的客户您好，感谢您致电闪电优选，我是客服专员小郭，非常荣幸为您服务。请问您方便提供一下订单号或下单手机号吗？"),
    ("customer", 20, "手机号138xxxx5521。"),
    ("agent", 25, "感谢您的配合。经查询，您的冰箱于2026年1月12日签收。依据《闪电优选保修条款》，冰箱整机保修1年，压缩机等主要部件保修3年，目前尚在保修期内。大家电的维修由品牌售后提供上门服务，我司可协助您登记并预约上门时间。"),
    ("customer", 15, "那帮我约一下，下周一上午可以吗？"),
    ("agent", 28, "好的，已为您登记报修，预约11月9日（周一）上午上门。请问还有其他需要为您效劳之处吗？"),
    ("customer", 8, "没了，谢谢。"),
    ("agent", 6, "不胜感激您的来电，敬祝您生活愉快，再见。"),
    ("system", 3, "通话结束"),
], resolved=True, sat=5)

conv("q3-019", "a-25", "wechat", "2026-11-05 20:30:00", [
    ("customer", 0, "你好，双11预售的那台笔记本我付了定金，尾款什么时候付？"),
    ("agent", 10, "您好～我是客服小孙！尾款期是11月10日20:00到11月11日23:59，在这段时间里付就可以啦。"),
    ("customer", 25, "好，定金50抵100是吧，尾款能分期吗"),
    ("agent", 14, "膨胀金额以商品页为准，只能在付尾款时用。尾款支持花呗或信用卡分期，定金部分不支持分期哦。"),
    ("customer", 20, "行，我再考虑考虑尾款要不要付"),
    ("agent", 12, "放心～就算到时候不想要了不付尾款，定金也肯定能退给您的，一点风险都没有！",
     W(D11, "尾款须在尾款期内支付，逾期未支付尾款的，视为您放弃购买，定金不予退还。"), "banned_phrase"),
    ("customer", 18, "哦哦好的"),
    ("agent", 8, "还有其他问题随时找我哦～"),
], resolved=True, sat=5)

conv("q3-020", "a-22", "wechat", "2026-11-08 09:12:40", [
    ("customer", 0, "可以货到付款吗"),
    ("agent", 8, "你好。可以，闪电速运配送范围内、金额不超过5000元的普通订单可以。"),
    ("customer", 20, "我买的是4000多的手机，秒杀的"),
    ("agent", 9, "秒杀不支持货到付款。"),
    ("customer", 15, "啊？那预售的呢"),
    ("agent", 7, "也不行。"),
    ("customer", 15, "行吧，那我微信付"),
    ("agent", 8, "好。还有其他问题吗？"),
], resolved=True, sat=3)

conv("q3-021", "a-26", "chat", "2026-11-09 15:44:10", [
    ("customer", 0, "你好，我前天收到的蓝牙音箱不想要了，没拆封，能退吗？"),
    ("agent", 18, "您好，我是小郑～没拆封、配件齐全的话可以七天无理由退货！麻烦发一下订单号哈。"),
    ("customer", 22, "SP20261101335"),
    ("agent", 25, "好的，已经帮您提交了无理由退货申请～"),
    ("customer", 20, "谢谢。这个无理由退货期是几天来着？以后买东西心里有个数"),
    ("agent", 20, "签收后十天内都可以无理由退的哦～",
     W(RET, "自签收次日零点起7天内，您可以对符合条件的商品申请七天无理由退货，无需说明理由。")),
    ("customer", 15, "好的"),
    ("agent", 8, "还有其他问题随时找我哦～"),
], resolved=True, sat=5)

conv("q3-022", "a-27", "wechat", "2026-11-12 16:05:00", [
    ("customer", 0, "11月8号买的电视到现在都没发货！都四天了！"),
    ("customer", 20, "你们还做不做生意了？气死我了"),
    ("agent", 45, "您好，请提供订单号。"),
    ("customer", 15, "SP20261108092"),
    ("agent", 55, "查到了，订单11月8日支付，目前还未出库。大促期间现货商品支付成功后72小时内出库，您这单已经超时。可以给您催仓库优先发货，同时补偿一张5元无门槛券；或者直接取消订单全额退款。您选哪种？"),
    ("customer", 40, "5块钱打发要饭的呢？我等不了了，取消吧。"),
    ("agent", 58, "好的，已为您取消订单，货款全额退回。"),
    ("customer", 100, "退到哪？"),
    ("agent", 59, "原路退回。"),
    ("customer", 45, "行。"),
    ("agent", 50, "还有其他问题吗？"),
], resolved=True, sat=1, conv_labels=["no_empathy"],
    timing=["slow_first_response", "long_handling"])

conv("q3-023", "a-28", "app", "2026-11-13 19:30:00", [
    ("customer", 0, "Hello, can I switch the app to English? My Chinese isn't great. And is this English chat available all day?"),
    ("agent", 20, 'Hi there, this is Grace from SparkMall. Yes, go to "Me > Settings > Language" and choose English; product pages show English titles where available. English live chat is available from 9:00 to 21:00 Beijing time under "Me > Customer Service Centre", and you can also email global@sparkmall.cn, where we reply within 24 hours.'),
    ("customer", 20, "Perfect, thank you!"),
    ("agent", 8, "My pleasure. Have a nice evening!"),
], resolved=True, sat=5)

conv("q3-024", "a-24", "app", "2026-11-14 10:50:00", [
    ("customer", 0, "你好，我想申请退货，但是找不到在哪里点"),
    ("agent", 15, "您好，我是客服小吴。打开App进“我的订单”，选商品，点“申请售后”。"),
    ("customer", 40, "我进了我的订单，没看到申请售后啊"),
    ("agent", 20, "就在商品那儿啊，那么大一个按钮。这个真的很简单的，一般人点两下就找到了，您再仔细瞅瞅。", "impolite"),
    ("customer", 35, "找到了，要点进订单详情里面才有。然后选什么？"),
    ("agent", 18, "选“退货退款”，填写原因，上传照片，提交就行。"),
    ("customer", 50, "提交了"),
    ("agent", 12, "好的，1个工作日内审核，结果会通过App消息和短信通知您。还有其他问题吗？"),
    ("customer", 10, "没了"),
], resolved=True, sat=2)

conv("q3-025", "a-25", "phone", "2026-11-16 14:02:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 4, "你好，我的笔记本买了五个月，键盘有几个键失灵了，怎么修？"),
    ("agent", 10, "您好您好，我是客服小孙！笔记本整机保修1年，您这还在保修期内。在“我的订单-申请售后”里选“维修”，提交故障描述和照片就行，审核通过后闪电速运免费上门取件，保修期内往返运费都是我们出。"),
    ("customer", 25, "修要多久啊？我工作要用"),
    ("agent", 14, "维修中心收到后3个工作日内检测，确认属于保修范围的，7个工作日内修好寄回。您放心，我保证一周多就能拿回来！", "banned_phrase"),
    ("customer", 20, "修完会不会又坏？"),
    ("agent", 12, "不会的，修好肯定不会再出这个问题了！真要再坏，同一故障修两次还不能正常用，就直接给您换同型号新品。", "banned_phrase"),
    ("customer", 15, "那行，我去申请。"),
    ("agent", 8, "好嘞，送修前记得备份数据哦，维修过程中可能恢复出厂设置。祝您生活愉快！"),
    ("system", 3, "通话结束"),
], resolved=True, sat=4)

conv("q3-026", "a-23", "chat", "2026-11-17 17:20:00", [
    ("customer", 0, "注销账号要多久？"),
    ("agent", 22, "尊敬的用户您好，我是闪电优选客服专员小郭，非常荣幸为您服务。注销申请需在“我的-设置-账号与安全-注销账号”中提交，提交前须确保无未完成的订单及售后，且闪电余额已提现。"),
    ("customer", 30, "我余额还有20块钱，怎么提？"),
    ("agent", 66, "您可在“我的-闪电余额-提现”中选择已绑定的本人银行卡提现，首次提现需完成实名认证，不收取手续费，1-3个工作日到账。"),
    ("customer", 25, "好，提完以后注销要等多久？"),
    ("agent", 40, "注销申请提交后设有15天冷静期，冷静期内登录即可撤销；冷静期结束后账号正式注销，积分、优惠券及会员权益将全部清空，无法恢复。"),
    ("customer", 20, "明白了"),
], resolved=True, sat=4, conv_labels=["no_closing"], timing=["slow_reply"])

conv("q3-027", "a-26", "wechat", "2026-10-25 11:11:00", [
    ("customer", 0, "你好，以旧换新怎么弄？"),
    ("agent", 16, "您好～我是小郑！在App“以旧换新”频道选旧机型号、如实填成色就能估价，买新机时直接抵扣。平时还有额外的换新补贴，最高300元哦～",
     W(FAQ, "在App“以旧换新”频道选择旧机型号并如实填写成色即可获得估价，购买新机时直接抵扣，日常还能额外获得最高200元换新补贴。")),
    ("customer", 30, "旧机什么时候收走？"),
    ("agent", 20, "新机签收后15天内，闪电速运会上门回收旧机～"),
    ("customer", 25, "如果上门检测价格比估价低很多呢？"),
    ("agent", 22, "差额在估价10%以内的按检测价直接结算；超过10%的话，您可以接受新报价，或者免费退回旧机、补付已抵扣的差额～"),
    ("customer", 15, "懂了，谢谢"),
    ("agent", 8, "不客气～祝您换机愉快！"),
], resolved=True, sat=5)

conv("q3-028", "a-21", "app", "2026-10-26 20:05:00", [
    ("customer", 0, "你好，我付款一直失败，试了好几次了，提示“支付异常”"),
    ("agent", 14, "您好，我是客服小周，很抱歉给您带来不便。请问您用的是哪种支付方式？订单金额大概多少？"),
    ("customer", 30, "招商银行信用卡，3200多"),
    ("agent", 20, "好的。单笔或单日支付限额是由银行或支付平台设定的，有可能是触发了限额。您可以试试换一张银行卡或其他支付方式，或者用闪电余额与微信/支付宝组合支付。"),
    ("customer", 127, "换了微信支付，还是失败，提示一样的"),
    ("agent", 25, "我这边看了一下，订单状态是正常的待付款。麻烦您退出App重新登录后再试一次？"),
    ("customer", 150, "重新登了，还是不行。订单提交30分钟内要付款吧？快到时间了"),
    ("agent", 20, "是的，订单提交后需要在30分钟内完成支付，超时会自动取消，占用的优惠券会退回您的账户。非常抱歉，我这边看不到具体的失败原因，已经把您的情况记录下来反馈给技术同事了。"),
    ("customer", 40, "那我现在怎么办？东西还是买不了"),
    ("agent", 25, "真的很抱歉让您折腾这么久。您可以稍后再尝试支付，或者联系发卡银行确认一下卡的状态；如果订单超时取消了，重新下单就可以。还有其他可以帮您的吗？"),
    ("customer", 30, "算了，等会再说吧，真耽误事。"),
], resolved=False, sat=2, conv_labels=["unresolved"], timing=["long_handling"])

conv("q3-029", "a-22", "chat", "2026-10-29 09:30:00", [
    ("customer", 0, "我的满299减30的券昨天过期了，能帮我补一张吗？"),
    ("agent", 10, "过期券无法补发，也不能延期。", "no_greeting"),
    ("customer", 25, "啊，这也太坑了吧，就差一天"),
    ("agent", 12, "抱歉。可以在“我的-优惠券”里开启到期提醒，券到期前24小时会推送通知。"),
    ("customer", 20, "行吧"),
], sat=2, conv_labels=["no_closing"])

conv("q3-030", "a-25", "app", "2026-10-30 14:20:00", [
    ("customer", 0, "Hi, I'm in London. How much is shipping to the UK and how long does it take?"),
    ("agent", 10, "Hello! This is Sunny from SparkMall, happy to help! Shipping to the UK is RMB 150 per order, and it's free for orders of RMB 3,000 or more. After dispatch, delivery usually takes 7-12 business days."),
    ("customer", 30, "I'm worried about customs. Last time a parcel from China got stuck for weeks."),
    ("agent", 15, "Don't worry at all! I guarantee your parcel will get through customs with no problems, 100%.", "banned_phrase"),
    ("customer", 20, "Hmm OK. Do I have to pay any import tax?"),
    ("agent", 15, "Prices on SparkMall don't include import duties or taxes. Any duties, taxes or customs fees are paid by the recipient when the parcel is delivered or as requested by the local carrier."),
    ("customer", 15, "Alright, thanks."),
    ("agent", 8, "You're welcome! Have a lovely day!"),
], resolved=True, sat=4)

conv("q3-031", "a-24", "wechat", "2026-10-31 16:10:00", [
    ("customer", 0, "你们以旧换新是不是骗人的？估价1200，上门检测只给900！"),
    ("agent", 15, "您好，我是客服小吴，非常抱歉让您不愉快。旧机以上门检测的实际成色为准，检测价和估价的差额超过估价10%时，您可以选择接受新报价，或者免费退回旧机并补付已抵扣的差额。"),
    ("customer", 30, "你们客服是不是都只会复制粘贴？说人话行不行"),
    ("agent", 18, "抱歉，刚才说得太像条款了。简单说：您这次差了300，超过了估价的10%，所以您不接受900的话，可以把旧机免费退回给您，再把之前抵扣掉的1200补上。"),
    ("customer", 40, "那我要退回旧机，900太黑了"),
    ("agent", 20, "好的，已经帮您提交了旧机退回，之后补付已抵扣的差额就行。给您添麻烦了，还有其他问题吗？"),
    ("customer", 15, "没了"),
], resolved=False, sat=3)

conv("q3-032", "a-27", "app", "2026-11-03 12:40:00", [
    ("customer", 0, "我的次日达订单晚了一天才到，说好的10元补偿券呢？签收都一天多了也没看到，你们就是骗人，太恶心了"),
    ("agent", 48, "您好，订单号发一下。"),
    ("customer", 20, "SP20261031440"),
    ("agent", 70, "查到了，订单10月31日下单，承诺次日达，11月2日才签收，符合补偿条件。补偿券签收后自动发放，超过24小时没收到可以补发，已经给您补发了一张10元无门槛券，在“我的-优惠券”里能看到。"),
    ("customer", 30, "这还差不多"),
    ("agent", 20, "还有其他问题吗？"),
    ("customer", 10, "没了"),
], resolved=True, sat=2, conv_labels=["no_empathy"],
    timing=["slow_first_response", "slow_reply"])

conv("q3-033", "a-23", "wechat", "2026-11-02 10:30:00", [
    ("customer", 0, "公司要开增值税专用发票，怎么弄？"),
    ("agent", 18, "尊敬的客户您好，我是闪电优选客服专员小郭，很荣幸为您服务。开具增值税专用发票，需先在“我的-发票管理”中提交增值税专用发票资质，审核通过（1-2个工作日）后，下单时选择“增值税专用发票”即可。"),
    ("customer", 25, "专票是电子的还是纸质的？多久能拿到？"),
    ("agent", 20, "专用发票为纸质发票，将于订单完成后10个工作日内单独寄出。另需提请您留意：如日后办理退货，纸质增值税专用发票须随商品一并寄回，否则无法办理退款。"),
    ("customer", 20, "好的，了解"),
    ("agent", 10, "感谢您的垂询，请问是否还有其他事宜需要协助？顺祝商祺！"),
], resolved=True, sat=4)

conv("q3-034", "a-25", "chat", "2026-11-05 13:05:00", [
    ("customer", 0, "你们卖的手机是正品吗？我看价格比官网便宜不少，有点担心"),
    ("agent", 12, "您好～我是客服小孙！绝对是正品，百分百官方渠道来的，您放一万个心！", "banned_phrase"),
    ("customer", 25, "怎么证明？"),
    ("agent", 15, "自营商品都是从品牌官方或其授权渠道采购的，每件商品都能在品牌官网查询序列号。我们承诺假一赔十：经品牌方或权威机构鉴定为假货的，全额退款并按商品实付金额的十倍赔偿。"),
    ("customer", 20, "哦，那是国行吗"),
    ("agent", 12, "是的，自营手机默认都是中国大陆国行版本，享受品牌全国联保；个别海外版会在标题和详情页显著标注“海外版”。"),
    ("customer", 20, "好，那我下单了"),
    ("agent", 8, "好嘞～祝您购物愉快！"),
], resolved=True, sat=5)

conv("q3-035", "a-26", "app", "2026-11-06 18:20:00", [
    ("customer", 0, "你好，闪电PLUS多少钱一年？"),
    ("agent", 15, "您好～我是小郑！PLUS年卡168元，连续包月是15元一个月哦～",
     W(MEM, "价格：年卡198元；连续包月18元/月；金卡会员首年开通价138元。")),
    ("customer", 25, "我朋友说是198啊？"),
    ("agent", 25, "啊不好意思，我看错了！年卡是198元，连续包月18元/月，金卡会员首年开通价是138元～"),
    ("customer", 20, "我是金卡，那我开138的"),
    ("agent", 18, "好的～在App“我的-闪电PLUS”页面就能开通。开通后全年无门槛包邮、积分2倍、价保期30天，还有每月4次免费退货上门取件～"),
    ("customer", 15, "好的"),
    ("agent", 8, "还有其他问题随时找我哦～"),
], resolved=True, sat=4)

conv("q3-036", "a-21", "wechat", "2026-11-15 20:40:00", [
    ("customer", 0, "你好，我11月3号买的空气炸锅，双11当天降了60块，能退差价吗？"),
    ("agent", 12, "您好，我是客服小周。11月1日至11日期间购买的双11活动商品，如在11月11日23:59前自营售价下降，可以申请双11专属价保，不受会员等级价保天数的限制，申请截止到11月20日23:59。麻烦提供一下订单号，我帮您看看。"),
    ("customer", 30, "SP20261103187"),
    ("agent", 25, "查到了，这个商品带双11标识，不是秒杀价，11日的自营售价比您的购买价低60元。已经帮您提交了价保申请，差价原路退回。"),
    ("customer", 20, "太好了，谢谢！"),
    ("agent", 10, "不客气，还有其他可以帮您的吗？祝您生活愉快！"),
], resolved=True, sat=5)

conv("q3-037", "a-24", "phone", "2026-11-18 19:15:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 4, "喂？你好，我的包裹到驿站了，我这两天出差，能放多久？"),
    ("agent", 10, "您好，我是客服小吴。包裹在驿站保留3天，逾期没取会退回仓库并办理退款。"),
    ("customer", 15, "啊？多久？信号不好没听清"),
    ("agent", 8, "3天。"),
    ("customer", 15, "喂？多少天？刚才断了一下"),
    ("agent", 6, "我都说两遍了，三天！您能不能找个信号好点的地方再打？", "impolite"),
    ("customer", 10, "你这什么态度……行吧，三天是吧。"),
    ("agent", 8, "不好意思，刚才语气急了。是3天，凭短信里的取件码到站领取就行。"),
    ("customer", 5, "嗯"),
    ("agent", 5, "还有其他问题吗？"),
    ("customer", 3, "没了"),
    ("system", 2, "通话结束"),
], resolved=True, sat=2)

conv("q3-038", "a-22", "app", "2026-11-19 11:05:00", [
    ("customer", 0, "我昨天拒收了一个包裹，钱什么时候退？"),
    ("agent", 12, "订单号？", "no_greeting"),
    ("customer", 15, "SP20261114902"),
    ("agent", 18, "拒收包裹退回仓库后48小时内确认并退款，商品款全额退。"),
    ("customer", 20, "运费呢？我付了8块运费"),
    ("agent", 15, "拒收是什么原因？"),
    ("customer", 20, "不想要了"),
    ("agent", 14, "不是因为商品或配送问题拒收的，原订单已付的运费不退。"),
    ("customer", 25, "好吧"),
    ("agent", 8, "还有其他问题吗？"),
], resolved=True, sat=3)

conv("q3-039", "a-27", "chat", "2026-11-20 14:30:00", [
    ("customer", 0, "你好，我退回的耳机质检没通过，说有人为损坏，我根本没摔过！"),
    ("agent", 25, "您好，我是小何，很抱歉给您带来困扰。请您提供一下订单号，我看一下质检结果。"),
    ("customer", 30, "SP20261108615"),
    ("agent", 80, "让您久等了。售后详情里写的原因是“耳机外壳有磕碰裂痕”。如果您对质检结果有异议，可以在收到结果后7天内申请复核。"),
    ("customer", 40, "我收到结果是昨天，外壳那个裂痕是收到的时候就有的！"),
    ("agent", 55, "明白，我这边帮您提交复核申请，专人会在2个工作日内重新评估。您有签收时拍的照片吗？有的话可以补充上传。"),
    ("customer", 170, "找了半天，找到了开箱时拍的照片，已经上传了"),
    ("agent", 40, "收到，照片已经附在复核申请里了。复核仍未通过的话，商品会免费寄回给您。"),
    ("customer", 30, "好吧，希望能通过，不然太亏了"),
    ("agent", 20, "理解您的心情。感谢您的耐心，祝您生活愉快！"),
], resolved=True, sat=3, timing=["slow_reply", "long_handling"])

conv("q3-040", "a-25", "app", "2026-11-21 10:10:00", [
    ("customer", 0, "你好，我买的手机开机用了两天，不太喜欢，能七天无理由退吗？"),
    ("agent", 12, "您好～我是客服小孙！七天内都能退的，开机了也没关系，绝对给您退！",
     W(RET, "手机、平板电脑、笔记本电脑和智能手表拆封但未开机激活、配件齐全的，仍可无理由退货；开机激活后仅在出现质量问题时办理退换。"), "banned_phrase"),
    ("customer", 20, "那我现在申请？"),
    ("agent", 30, "稍等我确认下……不好意思，刚才说得不准确：手机开机激活后就不支持七天无理由退货了，只有出现质量问题才能退换，需要先安排检测。"),
    ("customer", 25, "你刚才不是说绝对能退吗？"),
    ("agent", 15, "真的非常抱歉，是我说错了，给您添麻烦了。请问手机使用中有没有什么故障？"),
    ("customer", 30, "其实屏幕有时候会闪一下，我本来就觉得不对劲"),
    ("agent", 20, "签收7天内出现性能故障的，退货、换货、维修可以任选一种。您在“我的订单-申请售后”里选退货退款，原因写屏幕闪烁并上传照片，检测确认后就能办理，运费由我们承担。"),
    ("customer", 40, "好，提交了，选的退货"),
    ("agent", 12, "收到，1个工作日内完成审核，结果通过App消息和短信通知您。还有其他问题吗？"),
    ("customer", 8, "没了"),
], resolved=True, sat=3)

conv("q3-041", "a-24", "chat", "2026-11-22 15:00:00", [
    ("customer", 0, "Hi, I ordered a tablet to Malaysia. Do I have to pay import tax?"),
    ("agent", 12, "Hello, this is Kevin from SparkMall. Prices don't include import duties or taxes. Any duties are paid by the recipient on delivery or as requested by the local carrier."),
    ("customer", 25, "So the price I paid includes tax?"),
    ("agent", 10, "No. The price does not include import duties or taxes."),
    ("customer", 20, "Sorry, so who pays the customs then? Do you pay it?"),
    ("agent", 9, "As I've already said twice now, YOU pay it. Please read my messages before asking the same thing again.", "impolite"),
    ("customer", 30, "Wow OK. And if I refuse to pay?"),
    ("agent", 14, "If the parcel is refused because the duties weren't paid, the original shipping fee and the return shipping cost will be deducted from your refund."),
    ("customer", 20, "Fine."),
    ("agent", 8, "Anything else?"),
], resolved=True, sat=1)

conv("q3-042", "a-23", "app", "2026-11-23 16:45:00", [
    ("customer", 0, "生日券怎么领？我是金卡"),
    ("agent", 31, "尊敬的客户您好，我是闪电优选客服专员小郭，非常荣幸为您服务。金卡会员的生日券为满299减50元，请在生日当月于“我的-会员中心”领取。"),
    ("customer", 25, "我生日是12月，生日信息是11月10号才填的，12月能领吗？"),
    ("agent", 28, "感谢您的耐心询问。生日信息填写满30天后方可领取。您于11月10日填写，至12月10日即满30天，届时仍在您的生日当月，可正常领取。另需提请您留意，生日信息每年只能修改1次。"),
    ("customer", 15, "好的明白了"),
    ("agent", 12, "不胜感激您的垂询，敬祝您生日快乐、生活愉快！"),
], resolved=True, sat=4, timing=["slow_first_response"])

conv("q3-043", "a-21", "app", "2026-11-24 09:50:00", [
    ("customer", 0, "你好，我买了台洗衣机，能不能约12月5号送？"),
    ("agent", 30, "您好，我是客服小周。洗衣机走大件专线送货入户，可以预约下单后7天内的任意一天送达。请问您是哪天下的单？"),
    ("customer", 20, "昨天下的"),
    ("agent", 18, "您是11月23日下的单，12月5日超出了7天的预约范围。可以预约11月30日之前的日期，您看哪天方便？"),
    ("customer", 25, "那就28号吧，周六家里有人"),
    ("agent", 15, "好的，已经帮您预约11月28日送货入户，含送货上楼，没有电梯也不另外收费。"),
    ("customer", 15, "好的谢谢"),
    ("agent", 10, "不客气，还有其他问题随时联系我们，祝您生活愉快！"),
], resolved=True, sat=5)

conv("q3-044", "a-26", "phone", "2026-11-25 15:30:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 4, "喂，你好，我7月份买的手机，原装充电器坏了，插上没反应，能保修吗？"),
    ("agent", 12, "您好，我是客服小郑。请问手机是哪天签收的？"),
    ("customer", 10, "7月20号左右"),
    ("agent", 15, "好的，充电器这些随机附件跟手机一样，都是保修一年的，您这个还在保修期内。",
     W(WAR, "充电器、数据线等随机附件：保修6个月。")),
    ("customer", 12, "那数据线也是一年吗？我数据线也有点接触不良"),
    ("agent", 10, "对，数据线也是一年。您在“我的订单-申请售后”里选维修，把充电器和数据线一起提交，审核通过后闪电速运免费上门取件。",
     W(WAR, "充电器、数据线等随机附件：保修6个月。")),
    ("customer", 15, "好的，那我去弄一下"),
    ("agent", 8, "好嘞，保修期内往返运费都是我们承担的，祝您生活愉快！"),
    ("system", 2, "通话结束"),
], resolved=True, sat=4)

conv("q3-045", "a-22", "wechat", "2026-11-26 13:20:00", [
    ("customer", 0, "你好，我11月19号重复支付了两次，多扣的钱到现在还没退回来"),
    ("agent", 10, "你好。订单号。"),
    ("customer", 18, "SP20261119330"),
    ("agent", 25, "系统显示有重复支付记录。会原路退回。"),
    ("customer", 20, "多久？已经一个星期了"),
    ("agent", 15, "过几天再看看。"),
    ("customer", 25, "已经超过三个工作日了啊，你们规定不是1到3个工作日吗？"),
    ("agent", 14, "再等等。还有其他问题吗？"),
    ("customer", 20, "……算了，跟你们说话真是气人。"),
], resolved=True, sat=1, conv_labels=["no_empathy", "unresolved"])

conv("q3-046", "a-27", "app", "2026-11-27 10:00:00", [
    ("customer", 0, "你好，我用花呗分12期买的笔记本，现在要退货，分期怎么办？"),
    ("agent", 35, "您好，我是小何。退货后退款会原路退回分期机构，未出账的剩余期数会自动取消。"),
    ("customer", 30, "那我已经还了的两期呢？"),
    ("agent", 75, "退款会原路退回分期机构，由分期机构处理，一般7-15个工作日，以分期机构的处理时间为准。"),
    ("customer", 40, "手续费能退吗？"),
    ("agent", 80, "免息分期不产生手续费。非免息分期已经收取的手续费是否退还，要以分期机构的规则为准。"),
    ("customer", 75, "我是免息的，那就没事了。退货我已经申请了，什么时候来取件？"),
    ("agent", 50, "我们会在1个工作日内审核，审核通过后您可以预约闪电速运上门取件。"),
    ("customer", 45, "好吧，你们回复也太慢了"),
    ("agent", 55, "让您久等了，非常抱歉。还有其他问题吗？祝您生活愉快！"),
], resolved=True, sat=2,
    timing=["slow_first_response", "slow_reply", "slow_reply", "long_handling"])

conv("q3-047", "a-28", "wechat", "2026-11-28 11:40:00", [
    ("customer", 0, "人工客服"),
    ("bot", 1, "正在为您转接人工客服"),
    ("system", 8, "客服小林已接入会话"),
    ("agent", 10, "退款的订单号发一下。", "no_greeting"),
    ("customer", 20, "SP20261120456，付款用的微信"),
    ("agent", 22, "查到了，仓库昨天质检通过，当天已发起退款，微信支付1-3个工作日到账。"),
    ("customer", 15, "好的"),
], resolved=True, sat=4, conv_labels=["no_closing"])

conv("q3-048", "a-24", "app", "2026-11-29 20:15:00", [
    ("customer", 0, "付款的时候一直提示超出单笔限额，怎么回事？"),
    ("agent", 14, "您好，我是客服小吴。单笔或单日支付限额是您的银行或支付平台设定的，不是我们这边限制的。"),
    ("customer", 25, "那我怎么付？这手机6000多"),
    ("agent", 18, "可以换别的银行卡或者支付方式，或者用闪电余额加微信/支付宝组合支付。"),
    ("customer", 90, "换了张卡也超限，余额又没钱，烦死了，你们就不能想想办法？"),
    ("agent", 15, "限额是银行定的，我也没办法啊，这都跟您说过了。您自己去找银行提额吧。", "impolite", "banned_phrase"),
    ("customer", 30, "行，那我不买了，什么破体验。"),
], resolved=False, sat=1, conv_labels=["no_empathy", "unresolved"])

conv("q3-049", "a-21", "chat", "2026-12-01 13:00:00", [
    ("customer", 0, "我买了两个充电宝，箱子里只有一个！你们怎么发货的"),
    ("agent", 15, "您好，我是客服小周，非常抱歉出现少件的情况。请问是什么时候签收的？麻烦提供一下订单号。"),
    ("customer", 20, "今天上午签收的，SP20261129318"),
    ("agent", 25, "收到。签收后48小时内发现少件，可以在“我的订单-申请售后”上传包裹和商品照片，我们核实后为您补发。您方便现在拍一下包裹和箱内的照片吗？"),
    ("customer", 340, "传好了"),
    ("agent", 30, "已经看到照片，核实是少发了一个，已为您安排补发，不收取任何费用。给您添麻烦了，真的很抱歉。"),
    ("customer", 25, "行吧，下次再这样我就不在你们这买了"),
    ("agent", 15, "非常理解您的心情，这个问题我们会反馈给仓库。还有其他可以帮您的吗？"),
    ("customer", 10, "没了"),
], resolved=False, sat=2)

conv("q3-050", "a-26", "wechat", "2026-12-02 16:20:00", [
    ("customer", 0, "你好，我要退一个吸尘器，拆了箱发现颜色跟图片上不一样"),
    ("agent", 15, "您好～我是小郑！商品与描述不符可以退货，往返运费由我们承担。麻烦发下订单号和照片～"),
    ("customer", 40, "SP20261128770，照片发了"),
    ("agent", 25, "收到～已经帮您提交了退货申请，原因选的是“商品与描述不符”。审核一般要3个工作日哈。",
     W(RET, "我们将在1个工作日内完成审核，审核结果会通过App消息和短信通知您。")),
    ("customer", 20, "审核过了我要自己寄吗？"),
    ("agent", 18, "可以预约闪电速运免费上门取件，也可以自己寄回，审核通过后15天内寄回就行，不着急～",
     W(RET, "审核通过后，您可以预约闪电速运上门取件，或在7天内自行寄回至售后详情中显示的退货地址。")),
    ("customer", 15, "那我预约上门吧"),
    ("agent", 10, "好的～审核通过后在售后详情里预约就可以啦。还有其他问题吗？"),
    ("customer", 8, "没了"),
], resolved=True, sat=4)

conv("q3-051", "a-23", "chat", "2026-10-09 19:30:00", [
    ("customer", 0, "刚收到的耳机左耳没声音，新买的就这样，太恶心了"),
    ("agent", 20, "尊敬的客户您好，我是闪电优选客服专员小郭。根据《闪电优选退换货政策》第二条，签收后7天内出现性能故障的，您可以在退货、换货、维修中任选一种方式。烦请提供订单号。"),
    ("customer", 25, "SP20261007211，换新的"),
    ("agent", 28, "已收悉。已为您提交换货申请，经检测确认后将为您更换同型号、同配置的新品。因属质量问题，往返运费由闪电优选承担，将优先为您安排免费上门取件。"),
    ("customer", 20, "你们发货前都不检查的吗？"),
    ("agent", 25, "依据政策，换货后的新商品自签收次日起重新计算7天退货期和15天换货期，敬请知悉。"),
    ("customer", 15, "行吧"),
    ("agent", 10, "敬祝您生活愉快！"),
], resolved=True, sat=2, conv_labels=["no_empathy"])

conv("q3-052", "a-27", "chat", "2026-10-10 12:10:00", [
    ("bot", 0, "您好，我是闪电小助手，请问有什么可以帮您？"),
    ("customer", 5, "积分什么时候到账"),
    ("bot", 2, "购物积分在订单确认收货满7天后到账。请问还有其他问题吗？"),
    ("customer", 15, "我收货10天了还没到，转人工"),
    ("bot", 2, "正在为您转接人工客服，请稍候"),
    ("system", 20, "客服小何已接入会话"),
    ("agent", 18, "您好，我是小何，请问您的订单号是多少？"),
    ("customer", 20, "SP20260926331"),
    ("agent", 40, "查到了，您是9月30日签收的，但确认收货是10月4日。积分在确认收货满7天后到账，也就是10月11日，明天就能到。"),
    ("customer", 25, "哦，原来是按确认收货算的，行吧"),
    ("agent", 15, "是的。让您久等了，还有其他问题吗？"),
    ("customer", 10, "没了"),
], resolved=True, sat=3, timing=["slow_first_response"])

conv("q3-053", "a-22", "phone", "2026-10-11 08:10:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 3, "喂，你好，我想问一下你们热线几点下班？"),
    ("agent", 8, "热线每天8:00到22:00。", "no_greeting"),
    ("customer", 10, "晚上十点以后有事怎么办？"),
    ("agent", 9, "App在线客服人工服务到24:00，智能客服24小时在线。也可以在热线选“留言回拨”，服务时间内2小时内回电。"),
    ("customer", 12, "哦，我是PLUS会员，有没有专门的电话？"),
    ("agent", 7, "有。PLUS专属热线400-820-6699，7×24小时。"),
    ("customer", 8, "好的，谢谢"),
    ("agent", 5, "不客气，再见。"),
    ("system", 2, "通话结束"),
], resolved=True, sat=4)

conv("q3-054", "a-24", "chat", "2026-10-15 17:30:00", [
    ("customer", 0, "你好，我地址填错城市了，应该是苏州，填成了无锡，已经发货了，能改吗"),
    ("agent", 12, "您好，我是客服小吴。已出库的订单只能免费同城改派1次，暂不支持跨城市改址哦。"),
    ("customer", 25, "那怎么办？"),
    ("agent", 16, "您可以拒收后重新下单呢～也温馨提醒一下亲，下单前把地址核对清楚，就不会白白浪费大家的时间啦～", "impolite"),
    ("customer", 20, "……我知道了。拒收了钱怎么退？"),
    ("agent", 14, "拒收的包裹退回仓库后48小时内确认退款，商品款全额退回。不是因为商品或配送问题拒收的，原订单运费不退。"),
    ("customer", 15, "行"),
    ("agent", 8, "还有其他问题吗？"),
], resolved=True, sat=2)

conv("q3-055", "a-28", "chat", "2026-10-17 10:40:00", [
    ("customer", 0, "Hi, my laptop from SparkMall stopped charging. I live in Vancouver now. It's 8 months old. What do I do?"),
    ("agent", 12, "Hello, this is Grace from SparkMall, sorry to hear about your laptop. For international orders, a faulty product under warranty can be sent to the SparkMall repair centre in Shanghai. You pay the shipping cost to the repair centre, and we pay the cost of sending the repaired product back to you."),
    ("customer", 35, "OK, so how do I send it? Is there a form, an address? Do I need a return number?"),
    ("agent", 40, "Let me check that for you... I'm sorry, I can't find the repair centre address or the request form for international repairs on my side. I'll transfer you to our after-sales team, they should be able to help. Thank you for your patience."),
    ("customer", 15, "Seriously? Fine."),
    ("system", 5, "Conversation transferred to the after-sales queue."),
], resolved=False, conv_labels=["unresolved"])

conv("q3-056", "a-21", "app", "2026-10-18 15:10:00", [
    ("bot", 0, "您好，我是闪电小助手，请问有什么可以帮您？"),
    ("customer", 4, "转人工"),
    ("bot", 1, "正在为您转接人工客服"),
    ("system", 6, "客服小周已接入会话"),
    ("agent", 8, "您好，我是客服小周，请问有什么可以帮您？"),
    ("customer", 20, "我是金卡，听说有个极速退款？"),
    ("agent", 14, "是的，金卡和闪电PLUS会员在信用良好时可以享受“闪退”极速退款：申请无理由退货并由闪电速运上门取件后，系统立即退款，不用等仓库质检。"),
    ("customer", 30, "那如果仓库后来检查发现有问题呢？"),
    ("agent", 20, "如果后续质检发现不符合退货条件，我们会与您联系协商处理。"),
    ("customer", 20, "自己寄回的也能闪退吗？"),
    ("agent", 22, "“闪退”需要由闪电速运上门取件。自己寄回的话按正常流程：仓库收到后48小时内完成质检，质检通过当天发起退款。"),
    ("customer", 15, "明白了，谢谢"),
    ("agent", 10, "不客气，还有其他问题随时找我，祝您购物愉快！"),
], resolved=True, sat=5)

conv("q3-057", "a-25", "app", "2026-10-19 09:30:00", [
    ("customer", 0, "我昨晚下的单怎么还没发货？"),
    ("agent", 10, "您好～我是小孙！自营现货商品支付成功后24小时内出库，您是昨晚21点付的款，现在还在24小时内哦。"),
    ("customer", 20, "今天能发出吗？我急用"),
    ("agent", 12, "能的能的，今天一定给您发出去，放心吧！", "banned_phrase"),
    ("customer", 30, "那要是没发呢？"),
    ("agent", 14, "超过24小时还没出库的话，联系客服我们会催仓库优先发货，还会补偿一张5元无门槛券；您不想等了也可以直接取消订单全额退款～"),
    ("customer", 15, "好吧"),
    ("agent", 8, "有问题随时找我哦～"),
], resolved=True, sat=4)

conv("q3-058", "a-26", "chat", "2026-10-20 11:25:00", [
    ("customer", 0, "你好，我10天前收到的手机，现在还能买碎屏保吗？"),
    ("agent", 18, "您好～我是小郑！碎屏保须在签收后30天内购买，您还在时间内～"),
    ("customer", 20, "这个保多久？能换几次？"),
    ("agent", 15, "生效后1年内，可以免费换两次屏幕，外屏内屏都算～",
     W(WAR, "生效后1年内，可免费更换1次屏幕（含外屏和内屏），屏幕以外的损坏不在保障范围内。")),
    ("customer", 20, "那后盖碎了管吗"),
    ("agent", 14, "屏幕以外的损坏不在碎屏保范围内哦～"),
    ("customer", 40, "好，我买好了"),
    ("agent", 10, "好的～有需要随时找我，祝您生活愉快～"),
], resolved=True, sat=5)

conv("q3-059", "a-27", "wechat", "2026-10-21 20:00:00", [
    ("customer", 0, "分期要满多少钱才能用？"),
    ("agent", 28, "单笔订单满600元可以用花呗分期或者合作银行信用卡分期。", "no_greeting"),
    ("customer", 25, "我用了张满299减30的券，再抵了点积分，原价650，用完实付580了，还能分期吗"),
    ("agent", 70, "分期门槛按用完优惠券、满减和积分抵扣后的实付金额算，实付580元不到600元，不能分期。"),
    ("customer", 30, "那我不用券和积分，按650付能分期吗"),
    ("agent", 45, "不用券和积分的话实付650元，满600元，可以分期。"),
    ("customer", 20, "好吧"),
], resolved=True, conv_labels=["no_closing"], timing=["slow_reply"])

conv("q3-060", "a-22", "app", "2026-10-22 14:00:00", [
    ("customer", 0, "积分商城换的蓝牙音箱不想要了能退吗"),
    ("agent", 9, "你好。不能。积分商城兑换的实物礼品不支持七天无理由退货；有质量问题的，签收后7天内可申请换货。还有其他问题吗？"),
    ("customer", 25, "没质量问题，就是不喜欢。行吧，知道了"),
], resolved=True, sat=3)

conv("q3-061", "a-23", "wechat", "2026-10-23 10:00:00", [
    ("customer", 0, "你好，我想问一下你们快递单上会不会显示我的全名和手机号？"),
    ("agent", 20, "尊敬的客户您好，我是闪电优选客服专员小郭，非常荣幸为您服务，感谢您对个人信息安全的关注。为完成配送，我们会向闪电速运或合作快递提供收货人姓名、地址和电话。快递面单默认使用隐私面单，手机号码中间四位以星号隐藏，配送员通过虚拟号码与您联系。"),
    ("customer", 45, "那我想看看你们都收集了我什么信息，可以吗？"),
    ("agent", 40, "感谢您的垂询。您可在“我的-设置-隐私设置-导出个人信息”申请获取个人信息副本，我司将在15个工作日内处理。"),
    ("customer", 60, "好的。还有，我不想被推荐商品，能关吗？"),
    ("agent", 38, "承蒙关注。您可在“我的-设置-隐私设置”中关闭个性化推荐，并可撤回位置、通讯录等授权。需提请您留意，拒绝位置授权不影响下单。"),
    ("customer", 90, "我的信息会不会被卖给别人？"),
    ("agent", 45, "敬请放心。除完成配送、支付和分期、保修服务等必要情形及法律法规要求外，我司不会向任何第三方出售或提供您的个人信息。您的个人信息存储在中华人民共和国境内的服务器上。"),
    ("customer", 70, "那如果泄露了呢"),
    ("agent", 50, "如发生个人信息泄露事件，我司将在72小时内通过App消息、短信等方式告知您，并向主管部门报告。"),
    ("customer", 40, "好，我知道了"),
    ("agent", 25, "不胜感激您的耐心垂询。请问还有其他事宜需要为您效劳吗？敬祝您生活愉快，阖家安康！"),
], resolved=True, sat=4, timing=["long_handling"])

conv("q3-062", "a-24", "app", "2026-11-04 21:00:00", [
    ("customer", 0, "为什么我买了350的东西没有满减？不是满300减50吗"),
    ("agent", 10, "你好，我看下。您这单里那台吹风机是秒杀商品，秒杀商品不参与满减，剩下带“双11满减”标识的只有180元，不够300。"),
    ("customer", 30, "我哪知道它是秒杀的"),
    ("agent", 12, "商品页那么大个“秒杀”标签，您这眼神也是挺厉害的，愣是没看见。", "impolite"),
    ("customer", 20, "……行吧。那我再加点别的凑够300"),
    ("agent", 9, "加带“双11满减”标识的商品就行，每满300减50，上不封顶，可以跨品类累计。"),
    ("customer", 15, "知道了"),
    ("system", 20, "会话已结束"),
], resolved=True, sat=1, conv_labels=["no_closing"])

conv("q3-063", "a-25", "chat", "2026-11-07 15:15:00", [
    ("customer", 0, "你好，我退货的钱10天了还没到账，支付宝付的"),
    ("agent", 12, "您好～我是小孙！我先帮您查一下，麻烦给下订单号～"),
    ("customer", 20, "SP20261022109"),
    ("agent", 25, "查到了，仓库10月28日收到货，质检已经通过，退款也已经发起了。支付宝一般1-3个工作日到账。"),
    ("customer", 20, "那为什么还没到？"),
    ("agent", 20, "让您着急了！这个我去问一下财务同事，您放心，我保证今天下班前给您回复，绝对不会让您白等！", "banned_phrase"),
    ("customer", 15, "好吧，那我等你消息。"),
    ("agent", 10, "好嘞，感谢您的耐心～"),
], resolved=True, sat=3, conv_labels=["unresolved"])

conv("q3-064", "a-21", "wechat", "2026-11-08 19:40:00", [
    ("customer", 0, "我买的是黑色256G的手机，收到的是白色128G的！你们是不是把我当傻子？太离谱了！"),
    ("agent", 12, "您好，我是客服小周，真的非常抱歉，发错货给您添了这么大的麻烦，完全理解您现在的心情。麻烦您提供一下订单号，再拍一下商品和外包装的照片，我马上处理。"),
    ("customer", 40, "SP20261105620，照片发你了"),
    ("agent", 25, "收到，核实是仓库发错了。已经为您申请售后：闪电速运会免费上门取回这台，同时优先为您补发黑色256G的正确商品，全程不收取任何费用。"),
    ("customer", 30, "那我收到的这台怎么办？"),
    ("agent", 20, "这台请保持原样，等闪电速运上门取回就好。"),
    ("customer", 20, "好吧，尽快啊"),
    ("agent", 12, "好的，再次向您致歉。还有其他可以帮您的吗？"),
    ("customer", 10, "没了"),
], resolved=True, sat=3)

conv("q3-065", "a-26", "app", "2026-11-09 10:20:00", [
    ("customer", 0, "你好，我10月28号买的显示器，现在降价了100块，我是金卡，还能价保吗？"),
    ("agent", 15, "您好～我是小郑！我帮您看看～订单号发我一下哈"),
    ("customer", 20, "SP20261028553"),
    ("agent", 22, "查到了，自营售价确实降了100元，还在价保期内，已经帮您提交价保申请啦～"),
    ("customer", 25, "金卡价保是多少天来着？以后好注意"),
    ("agent", 15, "金卡的价保期是三十天，从下单那天开始算哦～",
     W(MEM, "价保期：普通会员和银卡7天，金卡15天，闪电PLUS会员30天，均自下单之日起计算。")),
    ("customer", 15, "好嘞"),
    ("agent", 8, "还有其他问题随时找我～"),
], resolved=True, sat=5)

conv("q3-066", "a-27", "phone", "2026-11-10 09:00:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 5, "喂，我家电视屏幕花了，买了才半年，这质量太差了，气死我了"),
    ("agent", 42, "您好，我是客服小何。请问订单号或者下单手机号是多少？"),
    ("customer", 15, "手机号139xxxx8870"),
    ("agent", 58, "查到了，电视5月12日签收，整机保修1年，显示面板保修3年，在保修期内。大家电的维修由品牌售后上门服务，我这边帮您登记，协助预约上门时间。您哪天方便？"),
    ("customer", 40, "越快越好，明天后天都行"),
    ("agent", 55, "好的，已经登记，预约明天上门。"),
    ("customer", 50, "上门要收费吗？"),
    ("agent", 60, "保修期内按说明书正常使用出现的非人为性能故障，维修是免费的。"),
    ("customer", 120, "还有，我要是修了还不好呢？"),
    ("agent", 58, "保修期内同一性能故障经两次维修后仍无法正常使用的，免费更换同型号新品。"),
    ("customer", 30, "行吧"),
    ("agent", 20, "还有其他问题吗？再见。"),
    ("system", 3, "通话结束"),
], resolved=True, sat=2, conv_labels=["no_empathy"],
    timing=["slow_first_response", "long_handling"])

conv("q3-067", "a-22", "chat", "2026-11-11 13:30:00", [
    ("customer", 0, "退款啥时候到"),
    ("agent", 10, "发一下订单号。", "no_greeting"),
    ("customer", 18, "SP20261102765"),
    ("agent", 20, "质检11月9日通过，当天已发起退款。支付宝1-3个工作日到账。"),
    ("customer", 25, "那我再等等"),
    ("agent", 8, "嗯。"),
], resolved=True, conv_labels=["no_closing"])

conv("q3-068", "a-28", "app", "2026-11-12 16:00:00", [
    ("customer", 0, "Hi, I received my smartwatch in Hong Kong two days ago and the screen has a crack."),
    ("agent", 12, "Which order is it? Please send photos too.", "no_greeting"),
    ("customer", 30, "SP20261104021. Photos sent."),
    ("agent", 25, "Got them. Since it arrived damaged and you contacted us within 7 days of delivery, we'll arrange a return and cover the return shipping cost. Replacement or full refund?"),
    ("customer", 20, "Replacement please."),
    ("agent", 18, "Done. The return is arranged, and a replacement will be sent once we receive the watch."),
], resolved=True, sat=3, conv_labels=["no_closing"])

conv("q3-069", "a-24", "wechat", "2026-11-17 18:10:00", [
    ("customer", 0, "我的订单显示要周六才送，能不能明天就送？我等着用啊，烦死了"),
    ("agent", 12, "您好，我是客服小吴。您下单时选的是“周末送”，所以安排在周末派送。"),
    ("customer", 25, "我选错了不行吗？现在改成明天送"),
    ("agent", 15, "当初是您自己选的周末送，现在又嫌慢，这个我们也很难办啊。下单的时候多看一眼就没这事了。", "impolite"),
    ("customer", 20, "你什么态度？我就问能不能改！"),
    ("agent", 18, "派送会按您下单时的选择安排。配送员派送前会电话联系您，到时候可以跟配送员沟通。"),
    ("customer", 15, "算了，就周六吧。"),
    ("agent", 8, "好的，还有其他问题吗？"),
], resolved=True, sat=1, conv_labels=["no_empathy", "unresolved"])

conv("q3-070", "a-21", "app", "2026-11-14 14:40:00", [
    ("bot", 0, "您好，我是闪电小助手，请问有什么可以帮您？"),
    ("customer", 5, "退货运费险理赔多久到账，转人工"),
    ("bot", 1, "正在为您转接人工客服"),
    ("system", 10, "客服小周已接入会话"),
    ("agent", 9, "您好，我是客服小周。下单时购买或获赠运费险的订单，退货签收后72小时内自动理赔，理赔金额按寄件地区为8-15元。"),
    ("customer", 30, "我的退货是前天签收的，还没看到理赔"),
    ("agent", 60, "我帮您查了一下，退货包裹是11月12日下午签收的，现在还在72小时内，理赔会自动到账，不需要您操作。"),
    ("customer", 20, "哦那行，我再等等"),
    ("agent", 15, "好的，感谢您的耐心，还有其他可以帮您的吗？"),
    ("customer", 10, "没了，谢谢"),
], resolved=True, sat=4)

conv("q3-071", "a-23", "wechat", "2026-11-15 11:00:00", [
    ("customer", 0, "我换手机号了，旧号码收不到验证码，怎么换绑？"),
    ("agent", 20, "尊敬的客户您好，我是闪电优选客服专员小郭。通常可在“我的-设置-账号与安全-更换手机号”中，通过原手机号验证码验证后换绑。如原号码已无法接收短信，可选择人脸识别或上传身份证申诉。"),
    ("customer", 30, "人脸识别和身份证申诉有什么区别？"),
    ("agent", 61, "感谢您的耐心等待。两种方式均可在原号码无法接收短信时使用；如选择上传身份证申诉，需人工审核，时长为1-3个工作日。"),
    ("customer", 60, "我刚用人脸识别，已经换好了"),
    ("agent", 15, "恭喜您换绑成功。请问还有其他需要为您效劳之处吗？敬祝您生活愉快！"),
], resolved=True, sat=4, timing=["slow_reply"])

conv("q3-072", "a-25", "app", "2026-11-16 20:20:00", [
    ("customer", 0, "你好，我买了耳机和充电器，收到只有耳机，充电器没有"),
    ("agent", 12, "您好～我是小孙！很抱歉少发了！麻烦提供下订单号，签收多久啦？"),
    ("customer", 20, "SP20261114387，昨天签收的"),
    ("agent", 18, "签收48小时内可以申请的～这个百分百是仓库漏装了，我马上给您补发！", "banned_phrase"),
    ("customer", 25, "要拍照吗"),
    ("agent", 14, "要的，在“我的订单-申请售后”上传包裹和商品照片就可以～"),
    ("customer", 45, "传好了"),
    ("agent", 20, "收到～已经为您安排补发了，免费的！这次肯定不会再出问题了，您放心～", "banned_phrase"),
    ("customer", 15, "行"),
    ("agent", 8, "还有其他问题随时找我哦～"),
], resolved=True, sat=4)

conv("q3-073", "a-26", "wechat", "2026-11-18 12:00:00", [
    ("customer", 0, "我有2000积分，下单能抵多少钱？"),
    ("agent", 15, "您好～我是小郑！积分是10积分抵1元，满1000分就能用啦～",
     W(MEM, "积分可在下单时抵扣现金，100积分抵扣1元，账户积分满1000分方可使用，以100积分为单位抵扣。")),
    ("customer", 20, "那2000分能抵200？太好了，我买个300的耳机"),
    ("agent", 12, "对的～2000积分能抵200元，300的耳机用完积分只要付100～",
     W(MEM, "积分可在下单时抵扣现金，100积分抵扣1元，账户积分满1000分方可使用，以100积分为单位抵扣。")),
    ("customer", 90, "我到结算页了，怎么只能抵20块？"),
    ("agent", 25, "不好意思！刚核对了规则，是我说错了：100积分抵1元，2000积分最多抵20元。另外单笔订单积分抵扣不超过实付金额的20%，您这单300元，抵20元在范围内。"),
    ("customer", 30, "……搞半天才20块"),
    ("agent", 12, "真的很抱歉误导您了。还有其他问题吗？"),
    ("customer", 10, "没了"),
], resolved=True, sat=2)

conv("q3-074", "a-27", "chat", "2026-11-19 16:00:00", [
    ("customer", 0, "你好，我的洗衣机到货了，装好以后发现滚筒有异响，签收第三天"),
    ("agent", 25, "您好，我是小何，很抱歉给您带来不便。签收后7天内出现性能故障的，您可以在退货、换货、维修中任选一种，需要先经检测确认。请问您想怎么处理？"),
    ("customer", 60, "我想换一台新的。检测要人上门吧？多久能来？"),
    ("agent", 85, "大家电由品牌售后上门服务，客服这边协助预约上门时间。我查一下……暂时查不到品牌那边的排期。"),
    ("customer", 45, "那你帮我问问啊"),
    ("agent", 55, "好的，我先去跟品牌售后那边核实一下排期，核实后再回复您。"),
    ("customer", 200, "还在吗？"),
    ("agent", 50, "在的，品牌那边还没回复，我这边有结果了再联系您，感谢您的耐心。"),
    ("customer", 30, "好吧……"),
], conv_labels=["unresolved"], timing=["slow_reply", "long_handling"])

conv("q3-075", "a-22", "wechat", "2026-11-20 09:20:00", [
    ("customer", 0, "秒杀那个耳机我想买两个，怎么只能买一个？你们什么破系统"),
    ("agent", 9, "你好，抱歉。秒杀商品每个账号限购1件。"),
    ("customer", 20, "那下一场什么时候？"),
    ("agent", 12, "每天10:00和20:00两场。可以提前在商品页点“提醒我”。"),
    ("customer", 15, "行吧"),
    ("agent", 6, "还有别的问题吗？"),
    ("customer", 5, "没"),
], resolved=True, sat=3)

conv("q3-076", "a-24", "phone", "2026-11-21 17:40:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 4, "喂，你好，我想让我儿子帮我付款，怎么弄啊？"),
    ("agent", 10, "您好，我是客服小吴。在待付款订单里点“找人代付”，把生成的链接发给他微信，他在30分钟内付完就行。"),
    ("customer", 20, "待付款订单在哪里啊？我找不到"),
    ("agent", 12, "就在“我的订单”里啊。唉，这个真挺简单的，您要实在弄不来，让您儿子拿您手机帮您点一下得了。", "impolite"),
    ("customer", 15, "……好吧，我找到了。付完东西还是寄到我这吧？"),
    ("agent", 8, "对，商品还是送到您填写的地址。"),
    ("customer", 10, "那要是退货，钱退给谁？"),
    ("agent", 9, "退给付款人，也就是您儿子。"),
    ("customer", 6, "哦，好。"),
    ("system", 3, "通话结束"),
], resolved=True, sat=2, conv_labels=["no_closing"])

conv("q3-077", "a-21", "chat", "2026-11-22 10:30:00", [
    ("customer", 0, "你好，我想查一下我的售后进度，页面一直打不开"),
    ("agent", 12, "您好，我是客服小周，很抱歉给您带来不便。麻烦提供一下订单号，我帮您查。"),
    ("customer", 20, "SP20261116812"),
    ("agent", 30, "非常抱歉，我这边的订单查询系统暂时也出现异常，查不到您的售后详情。我已经把问题反馈给技术同事了。"),
    ("customer", 25, "那怎么办？我就想知道退款到哪一步了"),
    ("agent", 20, "真的很抱歉，系统目前还没恢复，我这边暂时也看不到。您可以稍后再来咨询，或者过一会儿刷新一下售后详情页面。"),
    ("customer", 30, "那我晚点再说吧"),
    ("agent", 10, "好的，给您添麻烦了，感谢您的耐心，祝您生活愉快。"),
    ("system", 15, "会话已结束"),
], resolved=False, sat=3, conv_labels=["unresolved"])

conv("q3-078", "a-26", "app", "2026-11-23 14:10:00", [
    ("customer", 0, "你好，我的吹风机用了十天，突然不出热风了，能换新吗？"),
    ("agent", 15, "您好～我是小郑！可以的，非人为的性能故障经检测确认后，可以换同型号、同配置的新品～"),
    ("customer", 20, "那我现在申请？"),
    ("agent", 18, "对，在“我的订单-申请售后”里选换货，填原因上传照片就行。我看了下订单，签收是11月13日，还在换货期内～"),
    ("customer", 60, "已经提交了。对了，换货期限是多久？"),
    ("agent", 15, "签收后三十天以内出了性能故障都能换新哦～",
     W(RET, "自签收次日起15天内，商品出现非人为的性能故障，经闪电优选或品牌授权服务中心检测确认后，可更换同型号、同配置的新品。")),
    ("customer", 15, "好，知道了"),
    ("agent", 8, "还有其他问题随时找我～"),
], resolved=True, sat=5)

conv("q3-079", "a-28", "chat", "2026-11-24 19:00:00", [
    ("customer", 0, "你好，邀请好友有奖励吗？"),
    ("agent", 14, "您好，我是客服小林。有的：在“我的-邀请有礼”里分享专属链接，好友通过链接注册、完成实付满99元的首单并确认收货后，您会获得一张20元无门槛优惠券，每月最多可获得10张。还有其他问题随时找我，祝您购物愉快！"),
], resolved=True, sat=5)

conv("q3-080", "a-23", "app", "2026-11-25 20:30:00", [
    ("customer", 0, "我退回去的平板你们说配件缺失不给退款，我明明都寄回去了！你们是不是想吞钱？"),
    ("agent", 40, "尊敬的客户您好，我是闪电优选客服专员小郭。依据售后详情所载，质检未通过原因为“配件缺失：原装充电器”。如您对质检结果有异议，可在收到结果后7天内申请复核。"),
    ("customer", 30, "我充电器就放在盒子里的！给我复核！"),
    ("agent", 25, "已为您提交复核申请，将由专人在2个工作日内重新评估。如复核仍未通过，商品将免费寄回。敬请知悉。"),
    ("customer", 20, "行，你们最好给我查清楚"),
    ("agent", 10, "敬祝您生活愉快。"),
], resolved=False, sat=2, conv_labels=["no_empathy"], timing=["slow_first_response"])

conv("q3-081", "a-25", "wechat", "2026-11-26 12:00:00", [
    ("customer", 0, "新用户有什么福利吗？"),
    ("agent", 10, "您好呀～我是小孙！新注册用户可以领188元新人券包，有满99减10、满299减30、满999减60和满1999减88四张券，有效期15天，首单还免运费哦！"),
    ("customer", 20, "在哪领？"),
    ("agent", 12, "在App首页点“领券中心”就能领，领到的券在“我的-优惠券”里能看到～"),
    ("customer", 20, "券能叠加用吗"),
    ("agent", 14, "每笔订单最多可以用1张平台券和1张品类券，同类券不能叠加；优惠券可以和满减一起用，秒杀商品不支持用券。结算页会自动帮您选最优组合～"),
    ("customer", 15, "好的"),
    ("agent", 8, "祝您购物愉快，有问题随时找我哦～"),
])

conv("q3-082", "a-27", "app", "2026-11-27 15:00:00", [
    ("customer", 0, "你好，我要申请售后，上传照片的时候一直失败"),
    ("agent", 25, "您好，我是小何。请问是什么商品？遇到什么提示？"),
    ("customer", 30, "吸尘器，提示“上传失败”，照片有点大"),
    ("agent", 50, "您可以先试试压缩一下照片，或者换个网络再上传。"),
    ("customer", 420, "不好意思刚才去找充电器了，换了wifi，传上去了，提交成功了"),
    ("agent", 20, "好的，我这边看到您的售后申请了，1个工作日内审核，结果会通过App消息和短信通知您。"),
    ("customer", 25, "好的谢谢"),
    ("agent", 10, "不客气，祝您生活愉快！"),
], resolved=True, sat=4, timing=["long_handling"])

conv("q3-083", "a-27", "chat", "2026-11-28 11:00:00", [
    ("customer", 0, "Hi, I'm in Seoul. Can I pay with my Visa card? And is cash on delivery possible?"),
    ("agent", 45, "Hello, this is Ben from SparkMall. Yes, international customers can pay with Visa, Mastercard, UnionPay or Alipay. Cash on delivery is not available for international orders."),
    ("customer", 20, "Will I be charged in won?"),
    ("agent", 70, "All prices are charged in Chinese yuan (RMB). Your card issuer converts the amount and may charge a foreign transaction fee."),
    ("customer", 25, "OK, got it. Thanks."),
    ("agent", 15, "You're welcome, and sorry for the wait. Have a nice day!"),
], resolved=True, sat=3, timing=["slow_first_response", "slow_reply"])

conv("q3-084", "a-24", "app", "2026-11-29 13:40:00", [
    ("customer", 0, "你好，我上周的退款还没到，银行卡的"),
    ("agent", 12, "又是问退款的……订单号发一下。", "no_greeting", "impolite"),
    ("customer", 20, "SP20261120733"),
    ("agent", 20, "11月24日质检通过，当天发起退款，银行卡3-7个工作日到账，现在还没超时。"),
    ("customer", 15, "好的，那我再等等"),
    ("agent", 10, "还有其他问题吗？"),
    ("customer", 8, "没了"),
], resolved=True, sat=2)

conv("q3-085", "a-21", "phone", "2026-11-20 10:00:00", [
    ("system", 0, "来电已接入会话"),
    ("customer", 4, "你好，我双11付了尾款的预售手机，到现在还没发货，什么时候发？你能保证这周发吗？"),
    ("agent", 15, "您好，我是客服小周，让您久等了。麻烦提供一下订单号，我帮您查一下。"),
    ("customer", 12, "SP20261104518"),
    ("agent", 20, "查到了，这款预售商品页面标注的预计发货时间是11月23日，预售商品最晚不超过11月25日发货。具体哪一天出库我这边不好承诺，如果超过最晚发货时间还没发出，您可以申请取消订单并全额退款，包括定金。"),
    ("customer", 15, "不能打包票是吧？行吧，那我等等。"),
    ("agent", 12, "感谢您的理解，发货后可以在“我的订单”里查看物流。还有其他问题吗？"),
    ("customer", 6, "没了"),
    ("agent", 5, "好的，祝您生活愉快，再见。"),
    ("system", 2, "通话结束"),
], resolved=True, sat=4)

conv("q3-086", "a-26", "chat", "2026-11-03 20:10:00", [
    ("customer", 0, "为什么我的满299减30的券用不了？"),
    ("agent", 15, "您好～我是小郑！我看看～您购物车里那台电饭煲是秒杀商品，秒杀商品不支持用券，剩下的商品不满299，所以用不了～"),
    ("customer", 25, "哦，那我把秒杀的单独下单呢？"),
    ("agent", 18, "可以的，其他商品凑满299就能用这张券～另外现在双11是每满300减40，上不封顶，还能和优惠券叠加，凑单更划算～",
     W(D11, "活动期间，带“双11满减”标识的自营商品每满300元减50元，上不封顶，可跨品类累计。")),
    ("customer", 25, "那我凑个600，是不是能减80？"),
    ("agent", 12, "对的，600减80，再叠加您那张券就更划算啦～",
     W(D11, "活动期间，带“双11满减”标识的自营商品每满300元减50元，上不封顶，可跨品类累计。")),
    ("customer", 15, "好的，我去凑单"),
    ("agent", 8, "祝您购物愉快～有问题随时找我～"),
], resolved=True, sat=5)

conv("q3-087", "a-22", "app", "2026-12-01 09:10:00", [
    ("customer", 0, "账号被锁了，登不上"),
    ("agent", 8, "你好。连续5次输错密码会锁定30分钟。可以等30分钟，或者用“验证码登录”。"),
    ("customer", 25, "验证码收不到，那个手机号停机了"),
    ("agent", 12, "可以选人脸识别或上传身份证申诉换绑手机号，人工审核需要1-3个工作日。"),
    ("customer", 30, "人脸识别试了，一直失败。身份证要等1-3天？我今天就要下单"),
    ("agent", 15, "抱歉，人脸识别不成功的话只能上传身份证申诉。还有其他问题吗？"),
    ("customer", 20, "算了，没办法了呗，不弄了，换别家买。"),
    ("system", 10, "会话已结束"),
], resolved=False, sat=1, conv_labels=["unresolved"])

conv("q3-088", "a-23", "chat", "2026-12-02 11:30:00", [
    ("customer", 0, "我的手机寄修了，维修中心多久能检测完？"),
    ("agent", 20, "尊敬的客户您好，我是闪电优选客服专员小郭，很荣幸为您服务。维修中心收到商品后3个工作日内完成检测，检测结果通过App消息通知您。"),
    ("customer", 25, "那修好要多久？"),
    ("agent", 22, "检测确认属于保修范围的，自检测完成之日起7个工作日内修复并寄回。我司郑重向您保证，绝不会有任何延误。", "banned_phrase"),
    ("customer", 20, "要是配件没货呢？"),
    ("agent", 25, "如因配件短缺等原因超过15个工作日仍未修复的，可为您更换同型号新品；同型号停产的，可按原价退款或换购同等价位商品。"),
    ("customer", 15, "好的"),
    ("agent", 10, "感谢您的垂询，敬祝您生活愉快！"),
], resolved=True, sat=4)

conv("q3-089", "a-21", "wechat", "2026-12-03 18:20:00", [
    ("customer", 0, "你好，驿站的包裹我忘了取，今天第四天了，还能取吗？"),
    ("agent", 14, "您好，我是客服小周。包裹在驿站保留3天，逾期未取会退回仓库并为您办理退款。我帮您查一下，麻烦提供订单号。"),
    ("customer", 20, "SP20261128904"),
    ("agent", 25, "查到了，包裹已经在退回仓库的路上了，退回后会为您办理退款。如果您还需要这件商品，可以重新下单。"),
    ("customer", 30, "啊，好吧，那我重新下一单，这次送到家里。"),
    ("agent", 15, "好的，重新下单时不选驿站自提就行，闪电速运默认送货上门。给您添麻烦了，还有其他可以帮您的吗？"),
    ("customer", 10, "没了谢谢"),
    ("agent", 8, "不客气，祝您生活愉快！"),
], resolved=True)

conv("q3-090", "a-28", "chat", "2026-12-04 15:00:00", [
    ("customer", 0, "你好，我买的刻字平板，刻的名字我男朋友不喜欢，能退吗？"),
    ("agent", 12, "您好，我是客服小林。很抱歉，刻字商品属于按您要求定制的商品，除质量问题外不支持七天无理由退货。"),
    ("customer", 25, "一点余地都没有吗？平板都没拆"),
    ("agent", 18, "理解您的心情。即使未拆封，刻字商品也不适用七天无理由退货，这是政策规定，我这边无法为您办理。如果后续使用中出现质量问题，可以按换货或保修流程处理。"),
    ("customer", 20, "好吧，那只能留着了"),
    ("agent", 10, "好的，感谢您的理解，还有其他问题吗？祝您生活愉快！"),
], resolved=True, sat=3)


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------

def compute_timing(turns, times):
    """BRIEF timing rules. Returns list of (code, turn_index)."""
    out = []
    first_agent_seen = False
    last_cust = None
    for i, t in enumerate(turns):
        role = t[0]
        if role == "customer":
            last_cust = i
        elif role == "agent":
            if last_cust is None:
                raise ValueError("agent turn without a customer message before it")
            gap = times[i] - times[last_cust]
            if not first_agent_seen:
                if gap > 30:
                    out.append(("slow_first_response", i))
                first_agent_seen = True
            elif gap > 60:
                out.append(("slow_reply", i))
    if times[-1] - times[0] > 480:
        last_agent = max(i for i, t in enumerate(turns) if t[0] == "agent")
        out.append(("long_handling", last_agent))
    return out


def build():
    rows, wi_rows = [], []
    for c in CONVS:
        start = dt.datetime.strptime(c["start"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ)
        secs, acc = [], 0
        for t in c["turns"]:
            acc += t[1]
            secs.append(acc)
        if secs[0] != 0:
            raise ValueError(c["cid"] + ": first delay must be 0")
        turns_out, labels = [], []
        for i, t in enumerate(c["turns"]):
            role, _, text = t[0], t[1], t[2]
            ts = (start + dt.timedelta(seconds=secs[i])).isoformat()
            turns_out.append({"role": role, "text": text, "ts": ts})
            for m in t[3:]:
                if isinstance(m, tuple):
                    code, src, sentence = m
                    labels.append((code, i))
                    wi_rows.append({"id": c["cid"], "turn": i, "code": code,
                                    "source": src, "contradicted_sentence": sentence})
                else:
                    labels.append((m, i))
        agent_idx = [i for i, t in enumerate(c["turns"]) if t[0] == "agent"]
        last_agent = agent_idx[-1]
        for code in c["conv_labels"]:
            assert code in CONV_LEVEL, code
            labels.append((code, last_agent))
        timing = compute_timing(c["turns"], secs)
        got = sorted(code for code, _ in timing)
        if got != c["timing"]:
            raise ValueError("%s: timing designed %s but computed %s" % (c["cid"], c["timing"], got))
        labels.extend(timing)
        order = ["no_greeting", "slow_first_response", "slow_reply", "impolite", "banned_phrase",
                 "wrong_info", "no_empathy", "no_closing", "unresolved", "long_handling"]
        labels.sort(key=lambda x: (x[1], order.index(x[0])))
        row = {"id": c["cid"], "agent_id": c["agent"], "channel": c["channel"],
               "started_at": turns_out[0]["ts"], "turns": turns_out}
        if c["resolved"] is not MISSING:
            row["resolved"] = c["resolved"]
        if c["sat"] is not MISSING:
            row["satisfaction"] = c["sat"]
        row["labels"] = [{"code": code, "turn": i} for code, i in labels]
        rows.append(row)
    ids = [r["id"] for r in rows]
    assert ids == ["q3-%03d" % n for n in range(1, 91)], "ids out of order or missing"
    with open(os.path.join(HERE, "conversations.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "wrong_info_sources.jsonl"), "w", encoding="utf-8") as f:
        for r in wi_rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote %d conversations, %d wrong_info sources" % (len(rows), len(wi_rows)))


if __name__ == "__main__":
    CONVS.sort(key=lambda c: c["cid"])
    build()
